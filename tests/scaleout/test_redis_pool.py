"""The cluster's Redis client under a burst: more commands at once than its pool has
connections wait for one instead of failing. redis-py's default pool refused the 101st at
once (MaxConnectionsError): when 5,000 fans left together, presence fell back to this
process's own view as if Redis were down, and connection slots stayed behind."""

import asyncio
import uuid

from sharemyshows_rt.backends.redis.backend import POOL_SIZE
from sharemyshows_rt.backends.redis.backend import RedisBackend as Cluster

WAIT = 10.0


async def test_a_burst_larger_than_the_pool_waits_its_turn(session_redis):
    cluster = Cluster(session_redis.url(), f"test-{uuid.uuid4().hex}")
    empty = f"{cluster.namespace}:nothing"
    try:
        # Each holds its connection for 50 ms: three times the pool at once.
        answers = await asyncio.wait_for(
            asyncio.gather(
                *(cluster.redis.blpop([empty], timeout=0.05) for _ in range(3 * POOL_SIZE))
            ),
            WAIT,
        )
    finally:
        await cluster.redis.aclose()
    assert answers == [None] * (3 * POOL_SIZE)
