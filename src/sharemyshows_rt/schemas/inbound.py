"""What clients send: one pydantic model per event payload, validated once, here."""

from __future__ import annotations

import re
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
)

from ..errors import InvalidPayload
from .limits import (
    CLIENT_MSG_ID_MAX,
    HISTORY_PAGE_MAX,
    MAX_DB_INT,
    MAX_MESSAGE_ID,
    MAX_OFFSET,
    PRESENCE_PAGE_MAX,
)

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


Id = Annotated[
    int,
    BeforeValidator(_positive_id),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 1, "maximum": MAX_DB_INT},
                {"type": "string", "pattern": _DIGITS.pattern},
            ]
        }
    ),
]
Text = Annotated[StrictStr, AfterValidator(_storable)]
# Message ids are `bigint`s; 0 means "none seen yet".
MessageId = Annotated[StrictInt, Field(ge=0, le=MAX_MESSAGE_ID)]


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


class GetActiveUsers(ShowRef):
    # Large rooms are listed a page at a time.
    offset: Annotated[StrictInt, Field(ge=0, le=MAX_OFFSET)] = 0
    limit: Annotated[StrictInt, Field(ge=1, le=PRESENCE_PAGE_MAX)] | None = None


class Typing(ShowRef):
    is_typing: StrictBool


class SendMessage(Incoming):
    # Both optional here so that "missing" gets the product document's own error message.
    show_id: Id | None = None
    message: Text | None = None
    # Chosen by the client; a retry with the same id is stored and broadcast only once.
    client_msg_id: (
        Annotated[Text, StringConstraints(min_length=1, max_length=CLIENT_MSG_ID_MAX)] | None
    ) = None


class GetMessageHistory(ShowRef):
    before_id: MessageId | None = None
    limit: Annotated[StrictInt, Field(ge=1, le=HISTORY_PAGE_MAX)] | None = None


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
