"""Pydantic models for every payload: what clients send (validated once, here) and what the
server sends back."""

from __future__ import annotations

import re
from typing import Annotated, Any, TypeVar

from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictInt,
                      StrictStr, StringConstraints, ValidationError)

from ..clock import isoformat_z
from ..db.repositories import StoredMessage
from ..errors import InvalidPayload

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


def _storable(text: str) -> str:
    """Text the database can hold: no NUL characters, no lone UTF-16 surrogates."""
    if "\x00" in text:
        raise ValueError("NUL characters are not allowed")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("not valid Unicode (a lone surrogate)") from None
    return text


Id = Annotated[int, BeforeValidator(_positive_id)]
Text = Annotated[StrictStr, AfterValidator(_storable)]
# Message ids are `bigint`s; 0 means "none seen yet".
MessageId = Annotated[StrictInt, Field(ge=0, le=2**63 - 1)]


class Incoming(BaseModel):
    """A client payload: unknown fields are refused, types are never coerced."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ShowRef(Incoming):
    show_id: Id


class JoinShow(ShowRef):
    # Resume after a reconnect: the history is then exactly the messages after this id.
    last_message_id: MessageId | None = None


class LeaveShow(ShowRef):
    pass


# Past any room's size; a larger offset is refused rather than overflowing a slice.
MAX_OFFSET = 10**9


class GetActiveUsers(ShowRef):
    # Large rooms are listed a page at a time.
    offset: Annotated[StrictInt, Field(ge=0, le=MAX_OFFSET)] = 0
    limit: Annotated[StrictInt, Field(ge=1, le=1000)] | None = None


class Typing(ShowRef):
    is_typing: StrictBool


class SendMessage(Incoming):
    # Both optional here so that "missing" gets the product document's own error message.
    show_id: Id | None = None
    message: Text | None = None
    # Chosen by the client; a retry with the same id is stored and broadcast only once.
    client_msg_id: Annotated[Text, StringConstraints(min_length=1, max_length=64)] | None = None


class GetMessageHistory(ShowRef):
    before_id: MessageId | None = None
    limit: Annotated[StrictInt, Field(ge=1, le=100)] | None = None


class MuteShow(ShowRef):
    pass


class PushKeys(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    p256dh: Annotated[StrictStr, StringConstraints(min_length=80, max_length=128)]
    auth: Annotated[StrictStr, StringConstraints(min_length=16, max_length=64)]


class PushSubscriptionIn(BaseModel):
    """A browser's `PushSubscription.toJSON()`."""

    model_config = ConfigDict(extra="ignore", strict=True)

    endpoint: Annotated[Text, StringConstraints(min_length=8, max_length=2048)]
    expirationTime: int | None = None  # noqa: N815 (the browser's name)
    keys: PushKeys


class PushEndpoint(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    endpoint: Annotated[Text, StringConstraints(min_length=1, max_length=2048)]


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
    client_msg_id: str | None = None

    @classmethod
    def of(cls, stored: StoredMessage) -> MessageOut:
        return cls(**message_payload(stored))


def message_payload(stored: StoredMessage) -> dict[str, Any]:
    """A stored message as every event and response carries it: `MessageOut`'s fields
    (built once per message, without a model: a third of the cost)."""
    return {"id": stored.id, "show_id": stored.show_id, "user_id": stored.user_id,
            "username": stored.username, "message": stored.message,
            "created_at": isoformat_z(stored.created_at), "client_msg_id": stored.client_msg_id}


class Connected(Outgoing):
    message: str = "Connected to ShareMyShows"
    username: str
    user_id: int


class MessagePageOut(Outgoing):
    """A page of a show's messages, oldest first; `has_more`: older ones exist."""

    show_id: int
    messages: list[MessageOut]
    has_more: bool


class ActiveUser(Outgoing):
    user_id: int
    username: str
    sid: str


class ActiveUsers(Outgoing):
    """A page of who is present; `count` is everyone, `truncated` says more are not listed."""

    show_id: int
    active_users: list[ActiveUser]
    count: int
    truncated: bool = False


class UserRef(Outgoing):
    user_id: int
    username: str


class PresenceChange(Outgoing):
    """`user_joined` / `user_left`: about one user, or (in a large room) the last of several
    listed in `joined` / `left` (the newest, at most the list limit; `joined_count` /
    `left_count`: how many)."""

    show_id: int
    user_id: int
    username: str
    message: str
    active_users: list[ActiveUser]
    count: int
    truncated: bool = False
    joined: list[UserRef] | None = None
    left: list[UserRef] | None = None
    joined_count: int | None = None
    left_count: int | None = None


class UserTyping(Outgoing):
    show_id: int
    user_id: int
    username: str
    is_typing: bool
