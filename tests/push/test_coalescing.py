"""A busy chat is one notification, not a flood: the first message of a burst is pushed at
once (count 1), the rest are folded into one notification sent when PUSH_COALESCE_SECONDS
have passed. Each push is a Web Push message as RFC 8030/8291/8292 describe it: encrypted
with aes128gcm, with TTL, Urgency and a per-show Topic, signed with the server's VAPID key."""

import time

from support.push_rig import (
    FOLD_TIMEOUT,
    PREVIEW,
    PUSH_COALESCE_SECONDS,
    PUSH_TTL,
    PUSH_URL_TEMPLATE,
    VAPID_SUBJECT,
)
from support.push_service import vapid_claims

URGENCIES = {"very-low", "low", "normal", "high"}
TOPIC_ALPHABET = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
DAY = 24 * 3600


def expected_payload(show, count: int, username: str, message: str) -> dict:
    return {
        "type": "chat",
        "show_id": show.id,
        "show_title": show.title,
        "count": count,
        "last": {"username": username, "message": message},
        "url": PUSH_URL_TEMPLATE.format(show_id=show.id),
    }


async def test_a_burst_is_one_immediate_and_one_folded_notification(push):
    show = push.show()
    fan = await push.away_fan(show)
    sender = push.user()
    client = await push.in_room(sender, show)
    texts = ["first!"] + [f"message {n}" for n in range(2, 7)] + ["last " + "x" * 300]
    await push.send(client, show, texts)

    immediate, folded = await push.peer.wait_for(fan.device, 2, timeout=FOLD_TIMEOUT)
    assert immediate.payload == expected_payload(show, 1, sender.username, "first!")
    assert folded.payload == expected_payload(
        show, len(texts) - 1, sender.username, texts[-1][:PREVIEW]
    )
    gap = folded.at - immediate.at
    assert PUSH_COALESCE_SECONDS * 0.75 <= gap <= FOLD_TIMEOUT, (
        f"the fold came {gap:.2f}s after the first push (window {PUSH_COALESCE_SECONDS}s)"
    )
    assert immediate.headers["topic"] == folded.headers["topic"], "one topic per show"

    await push.fold_barrier()
    assert len(push.peer.received(fan.device)) == 2, [
        n.payload for n in push.peer.notifications(fan.device)
    ]


async def test_a_lone_message_is_not_followed_by_a_fold(push):
    show = push.show()
    fan = await push.away_fan(show)
    client = await push.in_room(push.user(), show)
    await push.send(client, show, ["just one"])
    [notification] = await push.peer.wait_for(fan.device)
    assert notification.payload["count"] == 1
    await push.fold_barrier()
    assert len(push.peer.received(fan.device)) == 1


async def test_windows_are_per_show(push):
    first, second = push.show(), push.show()
    fan = await push.away_fan(first)
    push.check_in(fan.user, second)
    client = await push.in_room(push.user(), first)
    await client.join(second.id)
    await push.send(client, first, ["in the first show"])
    await push.peer.wait_for(fan.device)
    await push.send(client, second, ["in the second show"])
    # The second show's message is not folded into the first show's window.
    _, other = await push.peer.wait_for(fan.device, 2)
    assert other.payload["show_id"] == second.id and other.payload["count"] == 1


async def test_message_previews_are_cut_to_120_characters(push):
    show = push.show()
    fan = await push.away_fan(show)
    client = await push.in_room(push.user(), show)
    text = "é" * 100 + "y" * 100
    await push.send(client, show, [text])
    [notification] = await push.peer.wait_for(fan.device)
    assert notification.payload["last"]["message"] == text[:PREVIEW]


async def test_push_requests_carry_ttl_urgency_topic_encoding_and_vapid(push):
    first, second = push.show(), push.show()
    fan = await push.away_fan(first)
    push.check_in(fan.user, second)
    client = await push.in_room(push.user(), first)
    await client.join(second.id)
    await push.send(client, first, ["one"])
    await push.send(client, second, ["two"])
    notifications = await push.peer.wait_for(fan.device, 2)

    public_key = push.deployment.vapid.public_key
    for notification in notifications:
        headers = notification.headers
        assert headers.get("content-encoding") == "aes128gcm", headers
        assert int(headers.get("ttl", "0")) == PUSH_TTL, headers
        assert headers.get("urgency") in URGENCIES, headers
        topic = headers.get("topic", "")
        assert 0 < len(topic) <= 32 and set(topic) <= TOPIC_ALPHABET, (
            f"Topic must be at most 32 base64url characters (RFC 8030): {topic!r}"
        )
        claims = vapid_claims(headers.get("authorization", ""), public_key, push.peer.origin)
        now = time.time()
        assert claims["sub"] == VAPID_SUBJECT, claims
        assert now < claims["exp"] <= now + DAY, f"exp must be within 24 h: {claims}"
    assert notifications[0].headers["topic"] != notifications[1].headers["topic"], (
        "each show has its own Topic"
    )
    assert {n.payload["show_id"] for n in notifications} == {first.id, second.id}
