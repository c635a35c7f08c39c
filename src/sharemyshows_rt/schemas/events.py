"""What the server sends over Socket.IO: every event's payload and every acknowledgement.
Payloads on busy paths are built as plain dicts typed by the TypedDicts here; a unit test
holds each TypedDict to the pydantic model of the same name that the documents come from."""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

from pydantic import BaseModel, ConfigDict

from ..clock import isoformat_z
from ..db.repositories import StoredMessage


class Outgoing(BaseModel):
    model_config = ConfigDict(frozen=True)


# ---------------------------------------------------------------------------- messages


class NewMessage(TypedDict):
    """`new_message`: one chat message as built on the hot path (`MessageOut`'s fields)."""

    id: int
    show_id: int
    user_id: int
    username: str
    message: str
    created_at: str
    client_msg_id: str | None


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


def message_payload(stored: StoredMessage) -> NewMessage:
    """A stored message as every event and response carries it: `MessageOut`'s fields
    (a plain dict built once per message: no model on the hot path)."""
    return {
        "id": stored.id,
        "show_id": stored.show_id,
        "user_id": stored.user_id,
        "username": stored.username,
        "message": stored.message,
        "created_at": isoformat_z(stored.created_at),
        "client_msg_id": stored.client_msg_id,
    }


class MessagePageOut(Outgoing):
    """A page of a show's messages, oldest first; `has_more`: older ones exist."""

    show_id: int
    messages: list[MessageOut]
    has_more: bool


class MessageHistory(MessagePageOut):
    """`message_history`: on joining, or the answer to `get_message_history` (which echoes
    its `before_id`)."""

    before_id: int | None = None


class Connected(Outgoing):
    """`connected`: sent once, when the handshake is complete."""

    message: str = "Connected to ShareMyShows"
    username: str
    user_id: int


class UserTyping(Outgoing):
    """`user_typing`: to the show's other members."""

    show_id: int
    user_id: int
    username: str
    is_typing: bool


# ---------------------------------------------------------------------------- presence


class ActiveUserItem(TypedDict):
    user_id: int
    username: str
    sid: str


class ActiveUsersPayload(TypedDict):
    """`active_users` as the roster builds it (on every join's path)."""

    show_id: int
    active_users: list[ActiveUserItem]
    count: int
    truncated: bool
    offset: NotRequired[int]  # answering `get_active_users`


class UserRefItem(TypedDict):
    user_id: int
    username: str


class PresenceChangePayload(TypedDict):
    """`user_joined` / `user_left` as the roster builds them."""

    show_id: int
    user_id: int
    username: str
    message: str
    active_users: list[ActiveUserItem]
    count: int
    truncated: bool
    joined: NotRequired[list[UserRefItem]]
    left: NotRequired[list[UserRefItem]]
    joined_count: NotRequired[int]
    left_count: NotRequired[int]


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


class ActiveUsersPage(ActiveUsers):
    """`active_users` answering `get_active_users`, and the REST body: with the `offset`."""

    offset: int = 0


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


# ---------------------------------------------------------------------------- errors, acks


class ErrorBody(Outgoing):
    """What every failure says: a fixed `message` per kind, and `details`."""

    message: str
    details: str
    retry_after_ms: int | None = None  # rate limited: when the next message is accepted


class ErrorEvent(ErrorBody):
    """`error`: a client event failed; `event` names it."""

    event: str


class AckError(Outgoing):
    """The acknowledgement of any failed event."""

    ok: Literal[False]
    error: ErrorBody


class ShowAck(Outgoing):
    """The acknowledgement of `join_show` and `leave_show`."""

    ok: Literal[True]
    show_id: int


class SendMessageAck(Outgoing):
    ok: Literal[True]
    message: MessageOut


class TypingAck(ShowAck):
    dropped: bool  # rate limited: nobody was told


class MuteAck(ShowAck):
    muted: bool


class HistoryAck(MessageHistory):
    ok: Literal[True]


class ActiveUsersAck(ActiveUsersPage):
    ok: Literal[True]
