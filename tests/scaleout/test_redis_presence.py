"""RedisPresence against the suite's own Redis: pages, and a page of none, which is how the
roster counts a room on every join. That page once listed the whole room (ZRANGE 0 -1), so a
storm of n joins read O(n^2) members from Redis: 3,631 of 5,000 fans joined in 120 s."""

import uuid

import pytest
from redis.asyncio import Redis

from sharemyshows_rt.backends.redis.presence import RedisPresence

SHOW = 7


@pytest.fixture
async def presence(session_redis):
    redis = Redis.from_url(session_redis.url())
    made = RedisPresence(redis, f"test-{uuid.uuid4().hex}")  # keys of its own
    for user in (1, 2, 3):
        await made.join(SHOW, user, f"fan{user}", f"sid{user}")
    yield made
    await redis.aclose()


async def test_a_page_of_none_is_the_count_alone(presence):
    assert await presence.page(SHOW, 0, 0) == ([], 3)


async def test_a_page_is_a_window_in_order_of_arrival_with_the_count(presence):
    members, count = await presence.page(SHOW, 1, 1)
    assert [(m.user_id, m.username, m.sid) for m in members] == [(2, "fan2", "sid2")]
    assert count == 3
    members, _ = await presence.page(SHOW, 0, 10)
    assert [m.user_id for m in members] == [1, 2, 3]


async def test_restoring_redis_survives_joins_and_leaves_meanwhile(presence):
    """After an outage each local membership is written back, one round trip each; the
    connections' shows change meanwhile (this once ended the heartbeat with 'Set changed
    size during iteration', leaving Redis without this process's fans)."""
    write_back = presence._join
    joined_meanwhile = False

    async def join_while_restoring(*, keys, args):
        nonlocal joined_meanwhile
        if not joined_meanwhile:
            joined_meanwhile = True
            await presence.join(SHOW + 1, 1, "fan1", "sid1")  # sid1 enters another show
        return await write_back(keys=keys, args=args)

    presence._join = join_while_restoring
    await presence._resync()
    presence._join = write_back
    assert [m.user_id for m in (await presence.page(SHOW + 1, 0, 10))[0]] == [1]
