"""Pydantic models for every payload: what clients send (validated once, here) and what the
server sends back."""

from __future__ import annotations

import re
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, StrictBool, StrictStr, ValidationError

from .clock import isoformat_z
from .db.repositories import StoredMessage
from .errors import InvalidPayload

MAX_DB_INT = 2**31 - 1  # ids are PostgreSQL `integer`s
_DIGITS = re.compile(r"[0-9]{1,10}")


def _positive_id(value: Any) -> int:
    """An id is a positive integer, or a string of digits (the contract allows both)."""
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError("must be a positive integer or a string of digits")
    if not 1 <= value <= MAX_DB_INT:
        raise ValueError(f"must be between 1 and {MAX_DB_INT}")
    return value


Id = Annotated[int, BeforeValidator(_positive_id)]


class Incoming(BaseModel):
    """A client payload: unknown fields are refused, types are never coerced."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ShowRef(Incoming):
    show_id: Id


class JoinShow(ShowRef):
    pass


class LeaveShow(ShowRef):
    pass


class GetActiveUsers(ShowRef):
    pass


class Typing(ShowRef):
    is_typing: StrictBool


class SendMessage(Incoming):
    # Both optional here so that "missing" gets the product document's own error message.
    show_id: Id | None = None
    message: StrictStr | None = None


M = TypeVar("M", bound=Incoming)


def parse(model: type[M], args: tuple[Any, ...]) -> M:
    """The event's arguments as `model`, or InvalidPayload saying what is wrong."""
    if len(args) != 1 or not isinstance(args[0], dict):
        raise InvalidPayload("the payload must be one JSON object")
    try:
        return model.model_validate(args[0])
    except ValidationError as exc:
        raise InvalidPayload(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        field = ".".join(str(part) for part in error["loc"]) or "payload"
        message = "unknown field" if error["type"] == "extra_forbidden" else error["msg"]
        parts.append(f"{field}: {message.removeprefix('Value error, ')}")
    return "; ".join(parts)


# ---------------------------------------------------------------------------- outgoing


class Outgoing(BaseModel):
    model_config = ConfigDict(frozen=True)


class MessageOut(Outgoing):
    """One chat message, the same in `new_message`, history, acks and REST."""

    id: int
    show_id: int
    user_id: int
    username: str
    message: str
    created_at: str

    @classmethod
    def of(cls, stored: StoredMessage) -> MessageOut:
        return cls(id=stored.id, show_id=stored.show_id, user_id=stored.user_id,
                   username=stored.username, message=stored.message,
                   created_at=isoformat_z(stored.created_at))


class Connected(Outgoing):
    message: str = "Connected to ShareMyShows"
    username: str
    user_id: int


class MessageHistory(Outgoing):
    show_id: int
    messages: list[MessageOut]


class MessagePageOut(MessageHistory):
    has_more: bool


class ActiveUser(Outgoing):
    user_id: int
    username: str
    sid: str


class ActiveUsers(Outgoing):
    show_id: int
    active_users: list[ActiveUser]
    count: int


class PresenceChange(Outgoing):
    """`user_joined` / `user_left`."""

    show_id: int
    user_id: int
    username: str
    message: str
    active_users: list[ActiveUser]


class UserTyping(Outgoing):
    show_id: int
    user_id: int
    username: str
    is_typing: bool
