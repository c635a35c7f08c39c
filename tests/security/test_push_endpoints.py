"""Push endpoints cannot aim inside (server-side request forgery): a subscription is an
address the server will POST to, so a user must not be able to aim it at the operator's own
network. A loopback listener (`InsideTarget`) stands in for the internal service, and each
test checks that it was never connected to, whichever way it was aimed at: a stored
endpoint, a redirect from a push service, or a public-looking name that resolves inside.
Also: at most 10 subscriptions per user, and at most a few KiB read of any answer."""

from __future__ import annotations

import asyncio
import ipaddress
import secrets
import socket
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import insert
from support.inside_target import InsideTarget
from support.push_rig import (
    PushScene,
    VapidPair,
    own_deployment,
    parse_vapid_keys,
    push_environment,
    push_subscriptions,
)
from support.push_service import Device, PushPeer, Reply
from support.rest import assert_json_error
from support.server import run_cli
from support.settings import TIMEOUT

DEFAULT_SERVICE_HOSTS = [
    "fcm.googleapis.com",
    "*.push.services.mozilla.com",
    "*.push.apple.com",
    "*.notify.windows.com",
]
MAX_SUBSCRIPTIONS = 10


def name_resolving_inside() -> str | None:
    """A name this machine resolves to loopback that no rule about `localhost` catches
    (the host's own name, usually, or another /etc/hosts alias)."""
    candidates = [socket.gethostname()]
    try:
        with open("/etc/hosts") as hosts:
            for line in hosts:
                fields = line.split("#", 1)[0].split()
                candidates += fields[1:]
    except OSError:
        pass
    for name in candidates:
        lowered = name.lower().rstrip(".")
        if (
            "localhost" in lowered
            or "localdomain" in lowered
            or not lowered.replace("-", "").replace(".", "").isalnum()
            or lowered.replace(".", "").isdigit()
        ):
            continue
        try:
            addresses = {
                info[4][0] for info in socket.getaddrinfo(lowered, 443, type=socket.SOCK_STREAM)
            }
        except OSError:
            continue
        if addresses and all(ipaddress.ip_address(a).is_loopback for a in addresses):
            return lowered
    return None


INSIDE_NAME = name_resolving_inside()


@pytest.fixture(scope="module")
async def target():
    made = await InsideTarget().start()
    try:
        yield made
    finally:
        await made.stop()


@pytest.fixture(scope="module")
async def guarded_peer():
    made = await PushPeer().start()
    try:
        yield made
    finally:
        await made.stop()


@pytest.fixture(scope="module")
def guarded_vapid() -> VapidPair:
    result = run_cli("vapid-keys", env=push_environment("sqlite:///unused.db", None))
    assert result.returncode == 0, f"vapid-keys failed:\n{result.stderr}"
    return parse_vapid_keys(result.stdout)


@pytest.fixture(scope="module")
async def guarded(postgres_admin_url, guarded_peer, guarded_vapid, tmp_path_factory):
    """`serve` with the default push service hosts (and the inside name, to reach the
    resolve-time check), the peer allow-listed."""
    hosts = DEFAULT_SERVICE_HOSTS + ([INSIDE_NAME] if INSIDE_NAME else [])
    async with own_deployment(
        postgres_admin_url,
        guarded_peer,
        guarded_vapid,
        tmp_path_factory.mktemp("guarded"),
        PUSH_SERVICE_HOSTS=",".join(hosts),
    ) as made:
        yield made


@pytest.fixture
async def scene(guarded, target):
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        made = PushScene(guarded, http)
        try:
            yield made
        finally:
            guarded.peer.release()
            await made.close()


INSIDE_ENDPOINTS = [
    "https://127.0.0.1:{port}/push/{token}",
    "https://127.1:{port}/push/{token}",
    "https://2130706433:{port}/push/{token}",
    "https://0x7f.1:{port}/push/{token}",
    "https://017700000001:{port}/push/{token}",
    "https://0.0.0.0:{port}/push/{token}",
    "https://[::1]:{port}/push/{token}",
    "https://[::]:{port}/push/{token}",
    "https://[::ffff:127.0.0.1]:{port}/push/{token}",
    "https://[::ffff:7f00:1]:{port}/push/{token}",
    "https://localhost:{port}/push/{token}",
    "https://LocalHost.:{port}/push/{token}",
    "https://push.localhost:{port}/push/{token}",
    "https://169.254.169.254/latest/meta-data/{token}",
    "https://10.0.0.1/push/{token}",
    "https://172.16.0.1/push/{token}",
    "https://192.168.1.1/push/{token}",
    "https://100.64.0.1/push/{token}",
    "https://[fc00::1]/push/{token}",
    "https://[fd12:3456::1]/push/{token}",
    "https://[fe80::1]/push/{token}",
    "https://224.0.0.1/push/{token}",
    "https://[ff02::1]/push/{token}",
    "https://240.0.0.1/push/{token}",
    "https://[2002:7f00:1::]/push/{token}",
    "https://fcm.googleapis.com@127.0.0.1:{port}/push/{token}",
    "https://good@fcm.googleapis.com/fcm/send/{token}",
    "https://@fcm.googleapis.com/fcm/send/{token}",
    "https://push.example.com/wpush/{token}",  # not a known push service (the default)
    "https://fcm.googleapis.com.evil.example/fcm/send/{token}",
    "http://fcm.googleapis.com/fcm/send/{token}",
]


@pytest.mark.parametrize("endpoint", INSIDE_ENDPOINTS)
async def test_an_endpoint_aiming_inside_is_refused_and_nothing_is_stored(scene, target, endpoint):
    endpoint = endpoint.format(port=target.port, token=secrets.token_hex(8))
    subscription = {**Device(scene.peer).subscription(), "endpoint": endpoint}
    assert_json_error(await scene.subscribe(scene.user(), subscription), 422)
    assert scene.subscription_rows(endpoint=endpoint) == []
    assert target.connections == 0


async def _notify(scene: PushScene, user) -> None:
    """A message in a show the user is checked in to, from someone in the room."""
    show = scene.show()
    scene.check_in(user, show)
    sender = await scene.in_room(scene.user(), show)
    await scene.send(sender, show, [f"psst {secrets.token_hex(4)}"])


async def _wait_for_metric(scene: PushScene, outcome: str, above: float) -> None:
    """Polled with a deadline: a refused push reports nothing anywhere else."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT
    while await scene.metric(outcome) <= above:
        assert loop.time() < deadline, f"no push counted as {outcome} within {TIMEOUT}s"
        await asyncio.sleep(0.05)


async def test_a_stored_endpoint_inside_is_never_reached(scene, target):
    """A row stored before this defence (or by another writer of the table)."""
    user = scene.user()
    inside = f"https://127.0.0.1:{target.port}/push/{secrets.token_hex(8)}"
    now = datetime.now(UTC)
    with scene.db.engine.begin() as conn:
        conn.execute(
            insert(push_subscriptions).values(
                user_id=user.id,
                endpoint=inside,
                p256dh=Device(scene.peer).p256dh,
                auth=Device(scene.peer).auth,
                created_at=now,
                updated_at=now,
            )
        )
    good = await scene.device(user)
    failed = await scene.metric("failed")
    await _notify(scene, user)
    await scene.peer.wait_for(good)
    await _wait_for_metric(scene, "failed", failed)
    assert target.connections == 0, f"the inside target was reached: {target.received!r}"


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_a_redirect_from_a_push_service_is_a_failure_never_followed(scene, target, status):
    user = scene.user()
    device = await scene.device(user)
    scene.peer.answer(
        device,
        Reply(status, {"Location": f"http://127.0.0.1:{target.port}/steal/{secrets.token_hex(4)}"}),
    )
    failed = await scene.metric("failed")
    await _notify(scene, user)
    await scene.peer.wait_for(device)
    await _wait_for_metric(scene, "failed", failed)
    await scene.barrier()
    assert target.connections == 0, f"the redirect was followed: {target.received!r}"
    assert len(scene.peer.received(device)) == 1, "a redirect is not retried"
    assert scene.subscription_rows(endpoint=device.endpoint), "the subscription is kept"


@pytest.mark.skipif(
    INSIDE_NAME is None, reason="no name on this machine resolves to loopback besides localhost"
)
async def test_a_name_that_resolves_inside_is_never_connected_to(scene, target):
    """The name passes every rule about the URL (DNS can point a public name anywhere):
    the check at connect time, on the addresses it resolves to, refuses it."""
    user = scene.user()
    endpoint = f"https://{INSIDE_NAME}:{target.port}/push/{secrets.token_hex(8)}"
    subscription = {**Device(scene.peer).subscription(), "endpoint": endpoint}
    response = await scene.subscribe(user, subscription)
    assert response.status_code == 201, response.text
    failed = await scene.metric("failed")
    await _notify(scene, user)
    await _wait_for_metric(scene, "failed", failed)
    assert target.connections == 0, f"the inside target was reached: {target.received!r}"


async def test_an_eleventh_subscription_replaces_the_oldest(scene):
    user, other = scene.user(), scene.user()
    kept = await scene.device(other)
    devices = [await scene.device(user) for _ in range(MAX_SUBSCRIPTIONS + 1)]
    stored = {row.endpoint for row in scene.subscription_rows(user=user)}
    assert stored == {device.endpoint for device in devices[1:]}, (
        f"{len(stored)} subscriptions stored, or not the newest {MAX_SUBSCRIPTIONS}"
    )
    # Renewing one makes it the newest: the next one replaces another.
    renewed = await scene.subscribe(user, devices[1].subscription())
    assert renewed.status_code == 201, renewed.text
    await scene.device(user)
    stored = {row.endpoint for row in scene.subscription_rows(user=user)}
    assert len(stored) == MAX_SUBSCRIPTIONS
    assert devices[1].endpoint in stored and devices[2].endpoint not in stored
    assert [row.endpoint for row in scene.subscription_rows(user=other)] == [kept.endpoint]


async def test_the_cap_holds_for_concurrent_subscribes(scene):
    user = scene.user()
    devices = [Device(scene.peer) for _ in range(3 * MAX_SUBSCRIPTIONS)]
    responses = await asyncio.gather(
        *(scene.subscribe(user, device.subscription()) for device in devices)
    )
    assert [r.status_code for r in responses] == [201] * len(devices)
    assert len(scene.subscription_rows(user=user)) == MAX_SUBSCRIPTIONS


async def test_an_endless_answer_is_read_only_a_few_kib(scene):
    user = scene.user()
    device = await scene.device(user)
    scene.peer.answer(device, Reply(201, endless=True))
    sent = await scene.metric("sent")
    hung_up = scene.peer.hung_up
    await _notify(scene, user)
    await scene.peer.wait_until(
        lambda: scene.peer.hung_up > hung_up,
        timeout=TIMEOUT,
        what="the server hanging up on an endless answer",
    )
    await _wait_for_metric(scene, "sent", sent)
    assert len(scene.peer.received(device)) == 1, "an accepted push is not sent again"
