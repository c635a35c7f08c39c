"""Bad input gets an `error` event naming the client event, changes nothing, and the
connection stays usable."""

import pytest
from support.client import for_show
from support.expect import active_user_ids, assert_error
from support.scenes import assert_still_usable, fan_in_show

EVENTS = ["join_show", "leave_show", "send_message", "typing", "get_active_users"]
NOT_OBJECTS = {
    "string": "abc",
    "number": 42,
    "list": ([1, 2],),  # a tuple sends several arguments: here one list
    "true": True,
    "no_payload": None,
    "two_payloads": ({"show_id": 1}, {"show_id": 1}),
}
BAD_SHOW_IDS = {
    "letters": "abc",
    "digits_then_letters": "12abc",
    "empty_string": "",
    "spaces_around_digits": " 12 ",
    "true": True,
    "false": False,
    "null": None,
    "negative": -1,
    "zero": 0,
    "float": 1.5,
    "whole_float": 1.0,
    "2**31": 2**31,
    "2**70": 2**70,
    "30_digit_string": "9" * 30,
    "list": [1],
    "object": {"id": 1},
}


@pytest.mark.parametrize("payload", NOT_OBJECTS.values(), ids=NOT_OBJECTS.keys())
@pytest.mark.parametrize("event", EVENTS)
async def test_non_object_payload(event, payload, db, connect):
    show, fan = await fan_in_show(db, connect)
    since = fan.client.mark()
    await fan.client.emit(event, payload)
    assert_error(await fan.client.wait_for("error", since=since), event=event)
    await assert_still_usable(fan, show)


@pytest.mark.parametrize("show_id", BAD_SHOW_IDS.values(), ids=BAD_SHOW_IDS.keys())
async def test_join_show_with_bad_show_id(show_id, db, connect):
    show, fan = await fan_in_show(db, connect)
    since = fan.client.mark()
    await fan.client.emit("join_show", {"show_id": show_id})
    assert_error(await fan.client.wait_for("error", since=since), event="join_show")
    assert fan.client.received("message_history", since=since) == []
    await assert_still_usable(fan, show)


async def test_show_id_true_is_not_show_1(db, connect):
    show, fan = await fan_in_show(db, connect)
    since = fan.client.mark()
    ack = await fan.client.call("get_active_users", {"show_id": True})
    assert ack["ok"] is False
    assert fan.client.received("active_users", since=since) == []


@pytest.mark.parametrize(
    "show_id",
    ["abc", True, None, -1, 0, 1.5, 2**70, "12abc", "9" * 30],
    ids=[
        "letters",
        "true",
        "null",
        "negative",
        "zero",
        "float",
        "2**70",
        "digits_then_letters",
        "30_digits",
    ],
)
@pytest.mark.parametrize("event", ["send_message", "typing", "leave_show", "get_active_users"])
async def test_other_events_with_bad_show_id(event, show_id, db, connect):
    show, fan = await fan_in_show(db, connect)
    since = fan.client.mark()
    await fan.client.emit(
        event,
        {"show_id": show_id, "message": "where to?", "is_typing": True}
        if event in ("send_message", "typing")
        else {"show_id": show_id},
    )
    assert_error(await fan.client.wait_for("error", since=since), event=event)
    assert fan.client.received("new_message", since=since) == []
    await assert_still_usable(fan, show)
    assert db.messages(show) == []


@pytest.mark.parametrize(
    "message", [42, True, ["a"], {"text": "a"}], ids=["number", "true", "list", "object"]
)
async def test_send_message_with_a_non_string_message(message, db, connect):
    show, fan = await fan_in_show(db, connect)
    await fan.client.emit("send_message", {"show_id": show.id, "message": message})
    assert_error(await fan.client.wait_for("error"), event="send_message")
    await assert_still_usable(fan, show)
    assert db.messages(show) == []


@pytest.mark.parametrize(
    "event, payload",
    [
        ("join_show", {"show_id": "OTHER", "color": "red"}),
        ("send_message", {"show_id": "SHOW", "message": "hi", "color": "red"}),
        ("typing", {"show_id": "SHOW", "is_typing": True, "color": "red"}),
        ("get_active_users", {"show_id": "SHOW", "color": "red"}),
        ("leave_show", {"show_id": "SHOW", "color": "red"}),
    ],
    ids=["join_show", "send_message", "typing", "get_active_users", "leave_show"],
)
async def test_unknown_field_is_refused_and_changes_nothing(event, payload, db, connect):
    show, fan = await fan_in_show(db, connect)
    other = db.add_show()
    ids = {"SHOW": show.id, "OTHER": other.id}
    payload = {
        key: ids.get(value, value) if isinstance(value, str) else value
        for key, value in payload.items()
    }
    since = fan.client.mark()
    await fan.client.emit(event, payload)
    assert_error(await fan.client.wait_for("error", since=since), event=event)
    assert active_user_ids(await fan.client.active_users(other.id)) == []
    await assert_still_usable(fan, show)  # still in the show: leave_show was not applied
    assert db.messages(show) == []
    assert fan.client.received("new_message", since=since) == []


async def test_message_far_over_the_length_limit(db, connect):
    show, fan = await fan_in_show(db, connect)
    await fan.client.emit("send_message", {"show_id": show.id, "message": "m" * 60_000})
    assert_error(await fan.client.wait_for("error", timeout=10), event="send_message")
    await assert_still_usable(fan, show)
    assert db.messages(show) == []


async def test_one_megabyte_frame_harms_no_one_else(db, connect):
    """Past the frame limit the server may answer with an error or close that connection;
    either way nothing is stored and a bystander is served as before."""
    show, fan = await fan_in_show(db, connect)
    bystander = await connect(db.add_user())
    await bystander.join(show.id)
    await fan.client.emit("send_message", {"show_id": show.id, "message": "m" * (1024 * 1024)})
    await fan.client.wait_until(
        lambda: fan.client.received("error") or fan.client.received("disconnect"),
        timeout=10,
        what="an error or a disconnect",
    )
    saved = await bystander.say(show.id, "still here")
    assert [row.message for row in db.messages(show)] == [saved["message"]]


async def test_many_bad_events_in_a_row_leave_the_connection_usable(db, connect):
    show, fan = await fan_in_show(db, connect)
    for payload in ["x", 1, None, {"show_id": "x"}, {"nope": 1}, {"show_id": show.id, "extra": 1}]:
        await fan.client.emit("join_show", payload)
    await fan.client.wait_until(lambda: len(fan.client.received("error")) == 6, what="six errors")
    await assert_still_usable(fan, show)
    assert (await fan.client.say(show.id, "still fine"))["message"] == "still fine"
    active = await fan.client.active_users(show.id)
    assert active_user_ids(active) == [fan.user.id]
    assert all(payload["event"] == "join_show" for payload in fan.client.received("error"))
    assert fan.client.received("active_users", for_show(show.id))


@pytest.mark.parametrize("field", ["message", "show_id"])
async def test_binary_data_in_a_payload(field, db, connect):
    """Socket.IO lets a client attach bytes (a binary event): not a text nor an id."""
    show, fan = await fan_in_show(db, connect)
    since = fan.client.mark()
    payload = {"show_id": show.id, "message": "hello", field: b"\x00\xffbytes"}
    ack = await fan.client.call("send_message", payload)
    assert ack["ok"] is False
    assert_error(await fan.client.wait_for("error", since=since), event="send_message")
    assert fan.client.received("new_message", since=since) == []
    await assert_still_usable(fan, show)
    assert db.messages(show) == []
