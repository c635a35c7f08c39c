"""Two `serve` processes sharing PostgreSQL and Redis (REDIS_URL set, a REDIS_PREFIX of this
run's own): each notification is sent exactly once, whichever process stored the message
and whichever process each fan's window lives on."""

from __future__ import annotations

import os
import secrets

import httpx
import pytest
import redis
from support.database import Database
from support.fixtures import unavailable
from support.push_rig import (
    FOLD_TIMEOUT,
    PushDeployment,
    PushScene,
    push_environment,
    push_settings,
    start_servers,
    stop_servers,
)
from support.rigs import migrated_postgres
from support.server import ServerProcess
from support.settings import TIMEOUT
from support.tokens import Tokens

REDIS_URL = os.environ.get("TEST_REDIS_URL") or "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="module")
def redis_url() -> str:
    """The Redis the pair shares (TEST_REDIS_URL). Unreachable: an error under CI=true, a
    skip otherwise."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        unavailable(f"Redis at {REDIS_URL} is unreachable ({exc!r})", "it (set TEST_REDIS_URL)")
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture(scope="module")
async def pair(postgres_admin_url, redis_url, peer, vapid_pair, tmp_path_factory):
    """Two servers, one fresh PostgreSQL database, one Redis, a prefix of their own."""
    workdir = tmp_path_factory.mktemp("push-cluster")
    prefix = f"smsrt-push-test-{secrets.token_hex(6)}"
    secret = secrets.token_urlsafe(48)
    with migrated_postgres(postgres_admin_url) as urls:
        env = push_environment(
            urls.server,
            secret,
            REDIS_URL=redis_url,
            REDIS_PREFIX=prefix,
            **push_settings(peer, vapid_pair),
        )
        servers = [ServerProcess(env, workdir / f"server-{n}.log") for n in range(2)]
        await start_servers(servers)
        db = Database(urls.tests)
        try:
            yield PushDeployment(servers, db, Tokens(secret), peer, vapid_pair)
        finally:
            db.dispose()
            await stop_servers(servers)
            _forget_keys(redis_url, prefix)


def _forget_keys(url: str, prefix: str) -> None:
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
async def cluster(pair):
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        scene = PushScene(pair, http)
        try:
            yield scene
        finally:
            pair.peer.release()
            await scene.close()


async def test_each_notification_is_sent_once_by_one_of_two_servers(cluster):
    show = cluster.show()
    fans = [await cluster.away_fan(show) for _ in range(3)]
    senders = [await cluster.in_room(cluster.user(), show, node) for node in (0, 1)]

    await cluster.send(senders[0], show, ["first"])
    for fan in fans:
        [immediate] = await cluster.peer.wait_for(fan.device)
        assert immediate.payload["count"] == 1, immediate.payload
        assert immediate.payload["last"]["message"] == "first"

    burst = [f"burst {n}" for n in range(6)]
    for n, text in enumerate(burst):  # stored by both servers in turn
        await cluster.send(senders[n % 2], show, [text])
    for fan in fans:
        _, folded = await cluster.peer.wait_for(fan.device, 2, timeout=FOLD_TIMEOUT)
        assert folded.payload["count"] == len(burst), folded.payload
        assert folded.payload["last"]["message"] in burst, folded.payload

    await cluster.fold_barrier()
    for fan in fans:
        got = [n.payload for n in cluster.peer.notifications(fan.device)]
        assert len(got) == 2, f"a fan was told {len(got)} times, not twice: {got}"


async def test_a_fan_in_the_room_on_the_other_server_is_not_notified(cluster):
    show = cluster.show()
    fan, witness = await cluster.away_fan(show), await cluster.away_fan(show)
    await cluster.in_room(fan.user, show, node=1)
    sender = await cluster.in_room(cluster.user(), show, node=0)
    await cluster.send(sender, show, ["seen on the other server"])
    await cluster.peer.wait_for(witness.device)
    await cluster.fold_barrier()
    assert cluster.peer.received(fan.device) == []


async def test_mute_on_one_server_holds_on_the_other(cluster):
    show = cluster.show()
    fan = await cluster.away_fan(show)
    socket = await cluster.connect(fan.user, node=1)
    assert (await socket.call("mute_show", {"show_id": show.id}))["muted"] is True
    sender = await cluster.in_room(cluster.user(), show, node=0)
    await cluster.send(sender, show, ["muted everywhere"])
    await cluster.fold_barrier()
    assert cluster.peer.received(fan.device) == []
