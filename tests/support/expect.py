"""Checks of the payload shapes the contract pins down. Payloads may carry more fields than
the contract names; the named ones must be there, with these values."""

import re
from typing import Any

ISO_UTC_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
MESSAGE_FIELDS = {"id", "show_id", "user_id", "username", "message", "created_at"}


def assert_includes(payload: Any, expected: dict) -> None:
    assert isinstance(payload, dict) and all(
        payload.get(key, object()) == value for key, value in expected.items()
    ), f"expected {payload!r} to include {expected!r}"


def assert_message(payload: Any, *, show, user, text: str) -> None:
    """A chat message, as in new_message, history, acks and REST."""
    assert isinstance(payload, dict) and MESSAGE_FIELDS <= payload.keys(), (
        f"a message has the fields {sorted(MESSAGE_FIELDS)}: {payload!r}"
    )
    assert_includes(
        payload,
        {"show_id": show.id, "user_id": user.id, "username": user.username, "message": text},
    )
    assert type(payload["id"]) is int, payload
    assert ISO_UTC_Z.match(payload["created_at"]), f"created_at not ISO 8601 UTC with Z: {payload}"


def active_user_ids(payload: Any) -> list[int]:
    """The user ids an `active_users`-shaped payload lists, after checking its shape."""
    assert isinstance(payload, dict) and isinstance(payload.get("active_users"), list), payload
    for entry in payload["active_users"]:
        assert isinstance(entry, dict) and {"user_id", "username", "sid"} <= entry.keys(), (
            f"an active user has user_id, username and sid: {entry!r}"
        )
    assert payload.get("count") == len(payload["active_users"]), f"count disagrees: {payload}"
    return [entry["user_id"] for entry in payload["active_users"]]


def assert_error(payload: Any, *, event: str, message: str | None = None) -> None:
    """An `error` event: message, details and the client event it answers."""
    assert isinstance(payload, dict) and {"message", "details", "event"} <= payload.keys(), (
        f"an error event has message, details and event: {payload!r}"
    )
    assert isinstance(payload["message"], str) and isinstance(payload["details"], str), payload
    assert payload["event"] == event, f"error for {payload['event']!r}, expected {event!r}"
    if message is not None:
        assert payload["message"] == message, f"error {payload['message']!r}, expected {message!r}"


def assert_failed_ack(ack: Any, message: str | None = None) -> None:
    assert isinstance(ack, dict) and ack.get("ok") is False, f"expected a failed ack: {ack!r}"
    error = ack.get("error")
    assert isinstance(error, dict) and {"message", "details"} <= error.keys(), (
        f"a failed ack carries error.message and error.details: {ack!r}"
    )
    if message is not None:
        assert error["message"] == message, f"ack error {error['message']!r}, expected {message!r}"


def acked_message(ack: Any) -> dict:
    """The saved message in a successful send_message ack: the message's fields beside
    `ok`, or the message under one key (the contract allows both readings)."""
    assert isinstance(ack, dict) and ack.get("ok") is True, f"expected a successful ack: {ack!r}"
    if "id" in ack:
        return ack
    nested = [value for value in ack.values() if isinstance(value, dict) and "id" in value]
    assert len(nested) == 1, f"no saved message in the ack: {ack!r}"
    return nested[0]
