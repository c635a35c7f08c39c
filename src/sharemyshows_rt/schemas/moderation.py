"""Moderation payloads (issue 19): what moderators send, what the room is told, and the
REST bodies of the audit trail and the show's current state."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StringConstraints

from .events import Outgoing
from .inbound import Id, Incoming, MessageId, ShowRef, Text
from .limits import (
    HISTORY_PAGE_MAX,
    MAX_MESSAGE_ID,
    MODERATION_REASON_MAX,
    SLOW_MODE_MAX_SECONDS,
    TIMEOUT_MAX_SECONDS,
)

Reason = Annotated[Text, StringConstraints(max_length=MODERATION_REASON_MAX)]


class Moderation(ShowRef):
    """Every moderation event: a show, and an optional `reason` for the audit trail."""

    reason: Reason | None = None


class DeleteMessage(Moderation):
    message_id: Annotated[MessageId, Field(ge=1)]


class TimeoutUser(Moderation):
    user_id: Id
    # 0 lifts a time-out.
    seconds: Annotated[StrictInt, Field(ge=0, le=TIMEOUT_MAX_SECONDS)]


class BanUser(Moderation):
    user_id: Id
    purge: StrictBool = False


class UnbanUser(Moderation):
    user_id: Id


class SetSlowMode(Moderation):
    # 0 turns slow mode off.
    seconds: Annotated[StrictInt, Field(ge=0, le=SLOW_MODE_MAX_SECONDS)]


class DeleteMessageBody(Incoming):
    """The optional JSON body of `DELETE /api/shows/{show_id}/messages/{message_id}`."""

    reason: Reason | None = None


# ---------------------------------------------------------------------------- server events


class MessageDeleted(Outgoing):
    """`message_deleted`: a message of the show was deleted; clients drop it."""

    show_id: int
    message_id: int


class UserTimedOut(Outgoing):
    """`user_timed_out`: the user may not send in the show until `until` (ISO 8601 UTC;
    now when a time-out is lifted)."""

    show_id: int
    user_id: int
    username: str
    until: str


class Banned(Outgoing):
    """`banned`: to the banned user's connections, which have left the show."""

    show_id: int


class SlowMode(Outgoing):
    """`slow_mode`: each non-moderator may send one message per `seconds` (0: off)."""

    show_id: int
    seconds: int


# ---------------------------------------------------------------------------- acks


class ModerationAck(Outgoing):
    ok: Literal[True]
    show_id: int


class DeleteMessageAck(ModerationAck):
    message_id: int


class TimeoutAck(ModerationAck):
    user_id: int
    until: str


class BanAck(ModerationAck):
    user_id: int
    banned: bool
    purged: int = 0  # messages deleted by `purge`


class SlowModeAck(ModerationAck):
    seconds: int


# ---------------------------------------------------------------------------- REST


class Actor(Outgoing):
    user_id: int
    username: str


class ModerationActionOut(Outgoing):
    """One entry of the audit trail: `seconds` of a time-out or slow mode, `count` of the
    messages a purge deleted."""

    id: int
    action: str
    actor: Actor
    target_user_id: int | None
    message_id: int | None
    seconds: int | None
    reason: str | None
    count: int | None = None
    created_at: str


class ModerationLog(Outgoing):
    """`GET /api/shows/{show_id}/moderation`: newest first."""

    show_id: int
    actions: list[ModerationActionOut]
    has_more: bool


class BanOut(Outgoing):
    user_id: int
    username: str
    since: str


class TimeoutOut(Outgoing):
    user_id: int
    username: str
    until: str


class ModerationState(Outgoing):
    """`GET /api/shows/{show_id}/moderation/state`."""

    show_id: int
    slow_mode_seconds: int
    bans: list[BanOut]
    timeouts: list[TimeoutOut]


class ModerationQuery(BaseModel):
    """`GET /api/shows/{show_id}/moderation`: paged like the messages route."""

    model_config = ConfigDict(extra="ignore")

    limit: int = Field(50, ge=1, le=HISTORY_PAGE_MAX)
    before_id: int | None = Field(None, ge=1, le=MAX_MESSAGE_ID)
