"""Moderation while Redis is away (SIGKILL, then a new, empty redis-server on the same
port): a moderator's action is stored and applied on its own process, and the other process,
which could not hear of it, reads the stored state again once its subscription is back."""

from __future__ import annotations

import asyncio
import time

import pytest
from support.client import about
from support.moderation import act, add_moderator, ok
from support.rigs import ROOMY
from support.scaleout import RedisServer, make_cluster

RECOVERY_TIMEOUT = 20.0  # Redis back -> subscriptions restored


@pytest.fixture
async def cluster(scaleout_postgres, scaleout_db, redis_available, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("moderation-outage")
    redis = RedisServer(workdir)
    redis.start()
    made = make_cluster(
        2, scaleout_postgres.server, scaleout_db, redis.url(0), workdir, "modout", **ROOMY
    )
    try:
        await made.start()
        yield made, redis
    finally:
        await made.stop()
        redis.stop()


async def _until(probe, timeout: float):
    """Poll `probe` (bounded) until it returns a truthy value; that value, or None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = await probe()
        except Exception:  # not answering yet
            value = None
        if value:
            return value
        await asyncio.sleep(0.2)
    return None


async def test_a_timeout_given_while_redis_is_down_reaches_the_other_process(cluster, scaleout_db):
    made, redis = cluster
    show, fan, moderator_user = (
        scaleout_db.add_show(),
        scaleout_db.add_user(),
        scaleout_db.add_user(),
    )
    add_moderator(scaleout_db, show, moderator_user)
    moderator = await made.connect(moderator_user, 0)
    await moderator.join(show.id)
    tab = await made.connect(fan, 1)
    await tab.join(show.id)
    await moderator.wait_for("user_joined", about(fan))

    redis.kill()
    assert await _until(lambda: _ready(made, 0, 503), 10), "process 0 never saw Redis go"
    payload = {"show_id": show.id, "user_id": fan.id, "seconds": 600}
    ok(await act(moderator, "timeout_user", payload))  # stored and applied on process 0

    redis.start()
    for node in range(2):
        assert await _until(lambda n=node: _ready(made, n, 200), RECOVERY_TIMEOUT)

    async def refused_on_process_1():
        ack = await tab.call("send_message", {"show_id": show.id, "message": "still here"})
        return ack.get("ok") is False and ack["error"]["message"] == "Timed out"

    assert await _until(refused_on_process_1, RECOVERY_TIMEOUT), (
        "process 1 never learnt of the time-out given while Redis was away"
    )


async def _ready(made, node: int, wanted: int) -> bool:
    return await made.ready_status(node) == wanted
