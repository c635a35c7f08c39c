"""The per-show publish locks of a group commit (`RedisBus.ordered`), against the suite's
own Redis: all of a batch's locks in one round trip when they are free; when one is taken,
waited for in show order, so two writers whose batches share shows both get all of theirs
in turn and never wait for each other at once."""

import asyncio
import uuid

from sharemyshows_rt.backends.redis.backend import RedisBackend as Cluster
from sharemyshows_rt.backends.redis.locks import LOCK_WAIT

HOLD = 0.2  # seconds a writer keeps its locks


async def holding(cluster: Cluster, shows: list[int], log: list, name: str) -> float:
    """Take the shows' locks, note who holds what, keep them HOLD seconds; how long it
    took to get them."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with cluster.locks.ordered(shows):
        waited = loop.time() - started
        owners = await cluster.redis.mget([f"{cluster.namespace}:order:{show}" for show in shows])
        log.append((name, "in", all(owners)))
        await asyncio.sleep(HOLD)  # the batch being stored and published
        log.append((name, "out", None))
    return waited


async def test_writers_sharing_shows_take_their_locks_in_turn(session_redis):
    cluster = Cluster(session_redis.url(), f"test-{uuid.uuid4().hex}")
    log: list = []
    try:
        # Opposite orders of the same shows, and a third writer sharing one of them.
        waits = await asyncio.wait_for(
            asyncio.gather(
                holding(cluster, [1, 2, 3], log, "a"),
                holding(cluster, [3, 2, 1], log, "b"),
                holding(cluster, [3, 4], log, "c"),
            ),
            10 * HOLD + LOCK_WAIT,
        )
    finally:
        await cluster.redis.aclose()
    assert all(held for _, step, held in log if step == "in"), log
    # One at a time: each writer is out before the next is in.
    assert [step for _, step, _ in log] == ["in", "out"] * 3, log
    assert sorted(waits)[0] < HOLD <= sorted(waits)[1] < sorted(waits)[2] < LOCK_WAIT, waits


async def test_free_locks_are_taken_in_one_round_trip(session_redis, monkeypatch):
    cluster = Cluster(session_redis.url(), f"test-{uuid.uuid4().hex}")
    sets = []
    original = cluster.redis.set

    async def counted_set(*args, **kwargs):
        sets.append(args[0])
        return await original(*args, **kwargs)

    monkeypatch.setattr(cluster.redis, "set", counted_set)
    log: list = []
    try:
        await holding(cluster, list(range(1, 51)), log, "alone")
    finally:
        await cluster.redis.aclose()
    assert log[0] == ("alone", "in", True)
    assert sets == [], "50 free locks, no SET one by one"
