"""The in-memory token buckets: several taken together, all or nothing, and given back."""

from sharemyshows_rt.backends.memory.limits import MemoryRateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


SHOW = ("send:1:7", 1.0, 2)
USER = ("send:1", 0.5, 3)


async def test_take_all_takes_from_every_bucket_or_none():
    clock = Clock()
    limiter = MemoryRateLimiter(clock)
    assert await limiter.take_all([SHOW, USER]) == 0.0
    assert await limiter.take_all([SHOW, USER]) == 0.0
    # The show's bucket is empty: refused, and the user's keeps its last token.
    assert await limiter.take_all([SHOW, USER]) == 1.0
    assert await limiter.take_all([("send:1:8", 1.0, 2), USER]) == 0.0
    # Both empty now: the wait is the longer one (the user's, at 0.5 a second).
    assert await limiter.take_all([SHOW, USER]) == 2.0


async def test_give_back_returns_a_token_but_never_past_the_burst():
    clock = Clock()
    limiter = MemoryRateLimiter(clock)
    for _ in range(2):
        assert await limiter.take_all([SHOW]) == 0.0
    await limiter.give_back([SHOW])
    assert await limiter.take_all([SHOW]) == 0.0
    assert await limiter.take_all([SHOW]) == 1.0
    clock.now += 10
    await limiter.give_back([SHOW])  # full already: stays at its burst
    assert [await limiter.take_all([SHOW]) for _ in range(3)] == [0.0, 0.0, 1.0]
