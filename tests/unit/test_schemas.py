"""Payload rules: show_id is a positive integer or a string of digits; nothing is coerced;
unknown fields and non-object payloads are refused."""

from datetime import UTC, datetime

import pytest

from sharemyshows_rt.db.repositories import StoredMessage
from sharemyshows_rt.errors import InvalidPayload
from sharemyshows_rt.schemas import (
    GetActiveUsers,
    JoinShow,
    LeaveShow,
    MessageOut,
    SendMessage,
    Typing,
    message_payload,
    parse,
)

MAX_ID = 2**31 - 1


@pytest.mark.parametrize(
    "raw, expected", [(1, 1), (123, 123), ("123", 123), (MAX_ID, MAX_ID), (str(MAX_ID), MAX_ID)]
)
def test_show_id_accepted(raw, expected):
    assert parse(JoinShow, ({"show_id": raw},)).show_id == expected


@pytest.mark.parametrize(
    "raw",
    [
        0,
        -1,
        MAX_ID + 1,
        2**70,
        True,
        False,
        None,
        1.5,
        1.0,
        "",
        "abc",
        "12abc",
        " 12",
        "-3",
        "1e3",
        "9" * 30,
        "１２",
        [1],
        {"id": 1},
    ],
)
@pytest.mark.parametrize("model", [JoinShow, LeaveShow, GetActiveUsers])
def test_show_id_refused(model, raw):
    with pytest.raises(InvalidPayload):
        parse(model, ({"show_id": raw},))


@pytest.mark.parametrize(
    "args",
    [(), ("abc",), (42,), ([1],), (None,), (True,), ({"show_id": 1}, {"show_id": 1})],
    ids=["nothing", "string", "number", "list", "null", "true", "two"],
)
def test_payload_must_be_one_object(args):
    with pytest.raises(InvalidPayload):
        parse(JoinShow, args)


def test_unknown_field_is_refused_and_named():
    with pytest.raises(InvalidPayload) as refused:
        parse(JoinShow, ({"show_id": 1, "color": "red"},))
    assert "color" in refused.value.details


def test_missing_show_id_is_refused():
    with pytest.raises(InvalidPayload) as refused:
        parse(JoinShow, ({},))
    assert "show_id" in refused.value.details


def test_invalid_payload_has_its_message():
    with pytest.raises(InvalidPayload) as refused:
        parse(JoinShow, ("x",))
    assert refused.value.body()["message"] == "Invalid payload"


def test_typing_needs_a_strict_boolean():
    assert parse(Typing, ({"show_id": 3, "is_typing": False},)).is_typing is False
    for raw in (1, 0, "true", None):
        with pytest.raises(InvalidPayload):
            parse(Typing, ({"show_id": 3, "is_typing": raw},))
    with pytest.raises(InvalidPayload):
        parse(Typing, ({"show_id": 3},))


def test_send_message_keeps_the_text_as_sent():
    payload = parse(SendMessage, ({"show_id": "4", "message": "  hi  "},))
    assert (payload.show_id, payload.message) == (4, "  hi  ")


def test_send_message_leaves_missing_parts_to_the_chat_rules():
    """So that missing parts get the product document's `Missing show_id or message`."""
    payload = parse(SendMessage, ({},))
    assert payload.show_id is None and payload.message is None


@pytest.mark.parametrize("message", [42, True, ["a"], {"text": "a"}])
def test_send_message_text_must_be_a_string(message):
    with pytest.raises(InvalidPayload):
        parse(SendMessage, ({"show_id": 1, "message": message},))


def test_message_out_formats_created_at_in_utc_with_z():
    stored = StoredMessage(
        id=9,
        show_id=1,
        user_id=2,
        username="alice",
        message="hi",
        created_at=datetime(2024, 11, 16, 20, 25, 45, 123456, tzinfo=UTC),
    )
    out = MessageOut.of(stored).model_dump()
    assert {
        key: out[key] for key in ("id", "show_id", "user_id", "username", "message", "created_at")
    } == {
        "id": 9,
        "show_id": 1,
        "user_id": 2,
        "username": "alice",
        "message": "hi",
        "created_at": "2024-11-16T20:25:45.123Z",
    }


@pytest.mark.parametrize("client_msg_id", [None, "c-1"])
def test_message_payload_is_message_out_exactly(client_msg_id):
    """The hot path builds the payload without the model: the same keys, values and types."""
    stored = StoredMessage(
        id=2**40,
        show_id=3,
        user_id=4,
        username="bob",
        message="é ok",
        created_at=datetime(2024, 1, 2, 3, 4, 5, 6000),
        client_msg_id=client_msg_id,
    )
    payload = message_payload(stored)
    assert payload == MessageOut.model_validate(payload).model_dump()
    assert list(payload) == list(MessageOut.model_fields)
    assert payload["created_at"] == "2024-01-02T03:04:05.006Z"
