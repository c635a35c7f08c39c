"""Push never stands in the chat's way, and the push service's answers are heeded: a push
service that never answers does not slow `new_message`; 404 and 410 forget the subscription;
429 is retried after Retry-After; 5xx is retried."""

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert
from support.client import for_show
from support.push_rig import push_subscriptions
from support.push_service import HANG, Device, Reply, b64url
from support.settings import TIMEOUT

SENDER_WORKERS = 8  # pushes one server sends at a time to one push service (its share)
CHAT_BOUND = 5.0  # seconds for 20 messages to reach every connected fan


async def test_a_hanging_push_service_does_not_slow_the_chat(push):
    show = push.show()
    stuck = [await push.away_fan(show) for _ in range(SENDER_WORKERS + 2)]
    for fan in stuck:
        push.peer.hang(fan.device)
    sender = await push.in_room(push.user(), show)
    listeners = [await push.in_room(push.user(), show) for _ in range(2)]

    # The push service's whole share of the server's senders is now waiting on it.
    await push.send(sender, show, ["wake the push service"])
    await push.peer.wait_until(
        lambda: push.peer.held >= SENDER_WORKERS,
        timeout=TIMEOUT,
        what=f"{SENDER_WORKERS} requests held open",
    )

    loop = asyncio.get_running_loop()
    marks = [listener.mark() for listener in listeners]
    started = loop.time()
    await asyncio.gather(
        *(
            sender.emit("send_message", {"show_id": show.id, "message": f"while stuck {n}"})
            for n in range(20)
        )
    )
    for listener, since in zip(listeners, marks):
        await listener.wait_until(
            lambda: len(listener.received("new_message", for_show(show.id), since)) >= 20,
            timeout=CHAT_BOUND,
            what="20 new_message events",
            since=since,
        )
    elapsed = loop.time() - started
    assert elapsed < CHAT_BOUND, f"20 messages took {elapsed:.2f}s to reach the room"
    assert push.peer.held >= SENDER_WORKERS, "the push service was released too early"
    # And the connections stay usable.
    await asyncio.gather(*(listener.active_users(show.id) for listener in listeners))


@pytest.mark.parametrize("status", [404, 410])
async def test_a_subscription_the_push_service_says_is_gone_is_forgotten(push, status):
    show = push.show()
    fan = await push.away_fan(show)
    other = await push.device(fan.user)  # the same user's other device stays
    push.peer.answer(fan.device, Reply(status))
    removed = await push.metric("subscription_removed")
    client = await push.in_room(push.user(), show)
    await push.send(client, show, ["anyone there?"])

    await push.peer.wait_for(fan.device)
    await push.wait_until_unsubscribed(fan.device.endpoint)
    assert [row.endpoint for row in push.subscription_rows(user=fan.user)] == [other.endpoint]
    await push.peer.wait_for(other)
    assert len(push.peer.received(fan.device)) == 1, "a gone subscription is not retried"
    assert await push.metric("subscription_removed") >= removed + 1


@pytest.mark.parametrize("retry_after", [1, 2])
async def test_429_is_retried_after_retry_after(push, retry_after):
    show = push.show()
    fan = await push.away_fan(show)
    push.peer.answer(fan.device, Reply(429, {"Retry-After": str(retry_after)}))
    client = await push.in_room(push.user(), show)
    await push.send(client, show, ["slow down"])

    refused, accepted = await push.peer.wait_for(fan.device, 2, timeout=retry_after + TIMEOUT)
    assert (refused.request.status, accepted.request.status) == (429, 201)
    gap = accepted.at - refused.at
    assert retry_after * 0.9 <= gap <= retry_after + 3, (
        f"retried {gap:.2f}s after a 429 with Retry-After: {retry_after}"
    )
    assert accepted.payload == refused.payload
    assert push.subscription_rows(endpoint=fan.device.endpoint), "a 429 keeps the subscription"


async def test_a_server_error_is_retried(push):
    show = push.show()
    fan = await push.away_fan(show)
    push.peer.answer(fan.device, Reply(500), Reply(503))
    sent = await push.metric("sent")
    client = await push.in_room(push.user(), show)
    await push.send(client, show, ["try again"])

    first, second, third = await push.peer.wait_for(fan.device, 3, timeout=3 + 2 * TIMEOUT)
    assert [n.request.status for n in (first, second, third)] == [500, 503, 201]
    assert second.at - first.at >= 0.5 and third.at - second.at >= 0.5, "retries back off"
    assert first.payload == second.payload == third.payload
    assert push.subscription_rows(endpoint=fan.device.endpoint), "a 5xx keeps the subscription"
    assert await push.metric("sent") >= sent + 1


async def test_a_push_service_that_never_answers_one_device_delays_no_other(push):
    show = push.show()
    fan = await push.away_fan(show)
    push.peer.answer(fan.device, HANG)
    others = [await push.away_fan(show) for _ in range(3)]
    client = await push.in_room(push.user(), show)
    await push.send(client, show, ["hello"])
    for other in others:
        await push.peer.wait_for(other.device)
    await push.peer.wait_for(fan.device)


async def test_a_refused_push_is_not_retried_and_keeps_the_subscription(push):
    show = push.show()
    fan = await push.away_fan(show)
    push.peer.answer(fan.device, Reply(400))
    failed = await push.metric("failed")
    client = await push.in_room(push.user(), show)
    await push.send(client, show, ["malformed?"])
    await push.peer.wait_for(fan.device)
    await push.barrier()
    assert len(push.peer.received(fan.device)) == 1, "a 400 is not retried"
    assert push.subscription_rows(endpoint=fan.device.endpoint)
    assert await push.metric("failed") >= failed + 1


async def test_a_broken_subscription_does_not_stop_the_users_other_devices(push):
    """A row whose p256dh is no P-256 point (stored before validation, or by another
    writer of the table) cannot be encrypted for; the user's other devices still hear."""
    show, user = push.show(), push.user()
    broken = Device(push.peer)
    with push.db.engine.begin() as conn:
        conn.execute(
            insert(push_subscriptions).values(
                user_id=user.id,
                endpoint=broken.endpoint,
                p256dh=b64url(b"\x04" + bytes(64)),
                auth=broken.auth,
                created_at=datetime.now(UTC),
                updated_at=datetime.now(UTC),
            )
        )
    good = await push.device(user)
    push.check_in(user, show)
    client = await push.in_room(push.user(), show)
    await push.send(client, show, ["for the working device"])
    [notification] = await push.peer.wait_for(good)
    assert notification.payload["last"]["message"] == "for the working device"
