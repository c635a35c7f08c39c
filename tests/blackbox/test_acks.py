"""Acknowledgements: every event asked for one gets {"ok": true, ...} or
{"ok": false, "error": {"message", "details"}}."""

import pytest
from support.expect import acked_message, active_user_ids, assert_failed_ack, assert_message
from support.scenes import fan_in_show


async def test_join_show_ack_is_ok(db, connect):
    fan, show = db.add_user(), db.add_show()
    client = await connect(fan)
    ack = await client.call("join_show", {"show_id": show.id})
    assert isinstance(ack, dict) and ack["ok"] is True


async def test_leave_show_ack_is_ok(db, connect):
    show, fan = await fan_in_show(db, connect)
    ack = await fan.client.call("leave_show", {"show_id": show.id})
    assert isinstance(ack, dict) and ack["ok"] is True


async def test_typing_ack_is_ok(db, connect):
    show, fan = await fan_in_show(db, connect)
    ack = await fan.client.call("typing", {"show_id": show.id, "is_typing": True})
    assert isinstance(ack, dict) and ack["ok"] is True


async def test_get_active_users_ack_is_ok(db, connect):
    show, fan = await fan_in_show(db, connect)
    ack = await fan.client.call("get_active_users", {"show_id": show.id})
    assert isinstance(ack, dict) and ack["ok"] is True
    if "active_users" in ack:
        assert active_user_ids(ack) == [fan.user.id]


async def test_send_message_ack_carries_the_saved_message(db, connect):
    show, fan = await fan_in_show(db, connect)
    ack = await fan.client.call("send_message", {"show_id": show.id, "message": "  acked  "})
    saved = acked_message(ack)
    assert_message(saved, show=show, user=fan.user, text="acked")
    assert [row.id for row in db.messages(show)] == [saved["id"]]


FAILURES = {
    "join_unknown_show": ("join_show", {"show_id": 2_000_000_000}, "Show not found"),
    "send_outside_the_room": (
        "send_message",
        {"show_id": "SHOW", "message": "hi"},
        "Not in show chat room",
    ),
    "typing_outside_the_room": (
        "typing",
        {"show_id": "SHOW", "is_typing": True},
        "Not in show chat room",
    ),
    "active_users_unknown_show": ("get_active_users", {"show_id": 2_000_000_000}, "Show not found"),
    "non_object_payload": ("join_show", "not an object", None),
    "unknown_event": ("no_such_event", {"show_id": "SHOW"}, None),
}


@pytest.mark.parametrize("case", FAILURES)
async def test_failed_ack(case, db, connect):
    event, payload, message = FAILURES[case]
    show = db.add_show()
    client = await connect(db.add_user())
    if isinstance(payload, dict):
        payload = {key: show.id if value == "SHOW" else value for key, value in payload.items()}
    assert_failed_ack(await client.call(event, payload), message)


@pytest.mark.parametrize(
    "text, message",
    [
        pytest.param("   ", "Missing show_id or message", id="blank"),
        pytest.param("z" * 5000, "Message too long", id="too_long"),
    ],
)
async def test_failed_ack_for_send_message_in_the_room(text, message, db, connect):
    show, fan = await fan_in_show(db, connect)
    ack = await fan.client.call("send_message", {"show_id": show.id, "message": text})
    assert_failed_ack(ack, message)


async def test_failed_ack_also_sends_no_broadcast(db, connect):
    show, fan = await fan_in_show(db, connect)
    since = fan.client.mark()
    assert_failed_ack(await fan.client.call("send_message", {"show_id": show.id, "message": ""}))
    await fan.client.active_users(show.id)  # barrier
    assert fan.client.received("new_message", since=since) == []
