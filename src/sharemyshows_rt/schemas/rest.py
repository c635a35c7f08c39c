"""The REST bodies and queries: what the routes read and answer (OpenAPI comes from these)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from .events import ErrorBody, Outgoing
from .limits import HISTORY_PAGE_MAX, MAX_MESSAGE_ID, MAX_OFFSET, PRESENCE_PAGE_MAX


class MessagesQuery(BaseModel):
    """`GET /api/shows/{show_id}/messages`; `limit` defaults to HISTORY_LIMIT."""

    model_config = ConfigDict(extra="ignore")

    limit: int = Field(50, ge=1, le=HISTORY_PAGE_MAX)
    before_id: int | None = Field(None, ge=1, le=MAX_MESSAGE_ID)


class ActiveUsersQuery(BaseModel):
    """`GET /api/shows/{show_id}/active_users`; `limit` defaults to PRESENCE_LIST_LIMIT."""

    model_config = ConfigDict(extra="ignore")

    offset: int = Field(0, ge=0, le=MAX_OFFSET)
    limit: int | None = Field(None, ge=1, le=PRESENCE_PAGE_MAX)


class ErrorResponse(Outgoing):
    """The body of every failed REST call."""

    error: ErrorBody


class Health(Outgoing):
    status: str


class VapidKey(Outgoing):
    """The application server key (base64url) browsers subscribe with."""

    public_key: str


class Subscribed(Outgoing):
    endpoint: str


class MuteState(Outgoing):
    show_id: int
    muted: bool
