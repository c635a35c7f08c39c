"""One push service in trouble stalls no other: two push services of the tests' own, one
answering nothing at all. Requests to the hanging one hold at most its share of the
server's senders, so a fan on the healthy one is told at once; and once the hanging one has
timed out enough times in a row it is left alone, while the healthy one goes on."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from support.push_rig import PushScene, own_deployment
from support.push_service import Device, PushPeer
from support.settings import TIMEOUT

ORIGIN_SHARE = 4  # PUSH_ORIGIN_CONCURRENCY of the test's server
READ_TIMEOUT = 4  # PUSH_READ_TIMEOUT: hung requests stay outstanding this long
FAILURES = 3  # PUSH_ORIGIN_FAILURES
PROMPTLY = 2.0  # seconds for the healthy push service's notification: under READ_TIMEOUT
STUCK_FANS = 10  # more than the 8 senders a process had, all on the hanging service


async def _peer():
    made = await PushPeer().start()
    try:
        yield made
    finally:
        await made.stop()


healthy = pytest.fixture(scope="module", name="healthy")(_peer)
hanging = pytest.fixture(scope="module", name="hanging")(_peer)
backed_off = pytest.fixture(scope="module", name="backed_off")(_peer)


@pytest.fixture(scope="module")
async def isolating(postgres_admin_url, healthy, hanging, backed_off, vapid_pair, tmp_path_factory):
    origins = ",".join(peer.origin for peer in (healthy, hanging, backed_off))
    async with own_deployment(
        postgres_admin_url,
        healthy,
        vapid_pair,
        tmp_path_factory.mktemp("isolating"),
        PUSH_ENDPOINT_ALLOWLIST=origins,
        PUSH_CONCURRENCY=8,
        PUSH_ORIGIN_CONCURRENCY=ORIGIN_SHARE,
        PUSH_READ_TIMEOUT=READ_TIMEOUT,
        PUSH_ORIGIN_FAILURES=FAILURES,
        PUSH_ORIGIN_BACKOFF=60,
    ) as made:
        yield made


@pytest.fixture
async def scene(isolating, hanging, backed_off):
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        made = PushScene(isolating, http)
        try:
            yield made
        finally:
            for peer in (isolating.peer, hanging, backed_off):
                peer.release()
            await made.close()


async def _stuck_fans(scene: PushScene, peer: PushPeer, count: int):
    """`count` fans of a new show, each with one device on `peer`, which never answers;
    the returned coroutine sends the message that wakes the push service up."""
    show = scene.show()
    for _ in range(count):
        user, device = scene.user(), Device(peer)
        response = await scene.subscribe(user, device.subscription())
        assert response.status_code == 201, response.text
        scene.check_in(user, show)
        peer.hang(device)
    sender = await scene.in_room(scene.user(), show)
    return scene.send(sender, show, ["wake the hanging push service"])


async def _healthy_fan(scene: PushScene):
    """A fan on the healthy push service; the returned coroutine sends their message."""
    show = scene.show()
    fan = await scene.away_fan(show)
    sender = await scene.in_room(scene.user(), show)
    return fan, scene.send(sender, show, ["for the fan on the healthy push service"])


async def test_a_hanging_push_service_does_not_delay_another_ones_pushes(scene, hanging):
    wake = await _stuck_fans(scene, hanging, STUCK_FANS)
    fan, tell = await _healthy_fan(scene)
    await wake
    await hanging.wait_until(
        lambda: hanging.held >= ORIGIN_SHARE,
        timeout=TIMEOUT,
        what=f"{ORIGIN_SHARE} requests held open",
    )

    loop = asyncio.get_running_loop()
    started = loop.time()
    await tell
    [notification] = await scene.peer.wait_for(fan.device, timeout=PROMPTLY)
    waited = loop.time() - started
    assert notification.payload["last"]["message"] == "for the fan on the healthy push service"
    assert waited < PROMPTLY, f"the healthy push service's notification took {waited:.2f}s"
    assert hanging.held >= ORIGIN_SHARE, "the hanging push service was released too early"
    assert len(hanging.requests) <= ORIGIN_SHARE, (
        f"{len(hanging.requests)} requests at once to one push service (share {ORIGIN_SHARE})"
    )


async def test_a_push_service_that_keeps_timing_out_is_left_alone(scene, backed_off):
    server = scene.deployment.servers[0]
    wake = await _stuck_fans(scene, backed_off, STUCK_FANS)
    await wake
    # Its requests time out (READ_TIMEOUT) FAILURES times in a row: it is backed off.
    line = f"push service {backed_off.origin} keeps failing"
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READ_TIMEOUT + TIMEOUT
    while line not in server.log():
        assert loop.time() < deadline, "the push service that keeps timing out is still tried"
        await asyncio.sleep(0.05)
    deferred = await scene.metric("deferred")

    # Neither the retries nor a new notification for it are sent while it is left alone;
    # the healthy push service's notification goes out at once.
    fan, tell = await _healthy_fan(scene)
    tried = len(backed_off.requests)
    assert tried < STUCK_FANS, f"all {tried} requests were tried after it kept timing out"
    await (await _stuck_fans(scene, backed_off, 1))
    await tell
    await scene.peer.wait_for(fan.device, timeout=PROMPTLY)
    await scene.barrier()
    assert len(backed_off.requests) == tried, "a backed-off push service was tried again"
    assert await scene.metric("deferred") > deferred, "the put-off deliveries are not counted"
