"""One contract for both backends (memory, Redis): the token buckets (Python and Lua give
the same answers), presence's first tab and last tab, the connection cap, push coalescing.
Each test runs against both; a rule changed on one side only fails here."""

from __future__ import annotations

from sharemyshows_rt.backends.base import Backend
from sharemyshows_rt.backends.limits import RateLimiter
from sharemyshows_rt.backends.memory.limits import MemoryRateLimiter
from sharemyshows_rt.backends.redis.backend import RedisBackend
from sharemyshows_rt.backends.redis.limits import RedisRateLimiter

SHOW, OTHER_SHOW = 7, 8
ALICE, BOB = 1, 2
BUCKET = ("send:1:7", 2.0, 3)  # key, 2 tokens a second, burst 3
USER = ("send:1", 0.5, 2)


class Clock:
    """Seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def limiter_of(backend: Backend, clock: Clock) -> RateLimiter:
    """The backend's kind of limiter, on a clock of the test's."""
    if isinstance(backend, RedisBackend):
        return RedisRateLimiter(backend.redis, backend.namespace, clock)
    return MemoryRateLimiter(clock)


# ------------------------------------------------------------------ token buckets


async def test_a_bucket_spends_its_burst_then_says_how_long_to_wait(backend):
    limiter = limiter_of(backend, Clock())
    assert [await limiter.take(*BUCKET) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert await limiter.take(*BUCKET) == 0.5  # one token at 2 a second


async def test_a_bucket_refills_at_its_rate_never_past_its_burst(backend):
    clock = Clock()
    limiter = limiter_of(backend, clock)
    for _ in range(3):
        await limiter.take(*BUCKET)
    clock.now += 0.25  # half a token
    assert await limiter.take(*BUCKET) == 0.25
    clock.now += 0.25
    assert await limiter.take(*BUCKET) == 0.0
    clock.now += 100  # far longer than a refill: the burst, no more
    assert [await limiter.take(*BUCKET) for _ in range(4)] == [0.0, 0.0, 0.0, 0.5]


async def test_several_buckets_are_taken_all_or_none(backend):
    limiter = limiter_of(backend, Clock())
    assert await limiter.take_all([BUCKET, USER]) == 0.0
    assert await limiter.take_all([BUCKET, USER]) == 0.0
    # The user's bucket is empty: refused, and the show's keeps its last token.
    assert await limiter.take_all([BUCKET, USER]) == 2.0
    assert await limiter.take(*BUCKET) == 0.0
    # Both empty now: the wait is the longer one.
    assert await limiter.take_all([BUCKET, USER]) == 2.0


async def test_a_token_given_back_can_be_taken_again_but_never_past_the_burst(backend):
    clock = Clock()
    limiter = limiter_of(backend, clock)
    for _ in range(3):
        await limiter.take(*BUCKET)
    await limiter.give_back([BUCKET])
    assert await limiter.take(*BUCKET) == 0.0
    assert await limiter.take(*BUCKET) == 0.5
    clock.now += 100
    await limiter.give_back([BUCKET])  # full already: stays at its burst
    assert [await limiter.take(*BUCKET) for _ in range(4)] == [0.0, 0.0, 0.0, 0.5]


# ------------------------------------------------------------------ presence


async def test_a_second_tab_joining_is_not_a_new_arrival(backend):
    presence = backend.presence
    assert await presence.join(SHOW, ALICE, "alice", "a1") is True
    assert await presence.join(SHOW, ALICE, "alice", "a2") is False
    assert await presence.join(SHOW, BOB, "bob", "b1") is True
    assert await presence.join(OTHER_SHOW, ALICE, "alice", "a1") is True
    listed, count = await presence.page(SHOW, 0, 10)
    assert [(m.user_id, m.username) for m in listed] == [(ALICE, "alice"), (BOB, "bob")]
    assert count == 2
    assert await presence.present_users(SHOW, [ALICE, BOB, 99]) == {ALICE, BOB}


async def test_only_the_last_tab_leaving_is_a_departure(backend):
    presence = backend.presence
    await presence.join(SHOW, ALICE, "alice", "a1")
    await presence.join(SHOW, ALICE, "alice", "a2")
    first = await presence.leave(SHOW, "a1")
    assert (first.user_id, first.last) == (ALICE, False)
    assert await presence.present_users(SHOW, [ALICE]) == {ALICE}
    last = await presence.leave(SHOW, "a2")
    assert (last.show_id, last.user_id, last.username, last.last) == (SHOW, ALICE, "alice", True)
    assert await presence.leave(SHOW, "a2") is None  # gone already
    assert await presence.page(SHOW, 0, 10) == ([], 0)
    assert await presence.present_users(SHOW, [ALICE]) == set()


# ------------------------------------------------------------------ connection cap


async def test_the_cap_counts_connections_and_frees_a_slot_on_release(backend):
    cap = backend.cap
    assert await cap.acquire(ALICE, "a1", 2) is True
    assert await cap.acquire(ALICE, "a2", 2) is True
    assert await cap.acquire(ALICE, "a3", 2) is False  # past the cap, and not counted
    assert await cap.acquire(BOB, "b1", 2) is True  # each user has a cap of their own
    await cap.release(ALICE, "a1")
    assert await cap.acquire(ALICE, "a3", 2) is True
    assert await cap.acquire(ALICE, "a4", 2) is False


# ------------------------------------------------------------------ push coalescing


async def test_the_first_push_goes_at_once_later_ones_are_folded_with_a_count(backend, window):
    coalescer, now = backend.coalescer, 1_000.0
    assert await coalescer.offer(ALICE, SHOW, 1, {"id": 1}, now) is True
    assert await coalescer.offer(ALICE, SHOW, 2, {"id": 3}, now + 1) is False
    assert await coalescer.offer(ALICE, SHOW, 1, {"id": 4}, now + 2) is False
    assert await coalescer.offer(BOB, SHOW, 1, {"id": 4}, now + 2) is True  # another user
    assert await coalescer.due(now + window - 1) == []  # the window has not ended
    [folded] = await coalescer.due(now + window)
    assert (folded.user_id, folded.show_id, folded.count, folded.last) == (
        ALICE,
        SHOW,
        3,
        {"id": 4},
    )
    assert await coalescer.due(now + window + 1) == []  # claimed once
