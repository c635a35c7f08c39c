"""REST routes for moderation: deleting a message, the audit trail, the standing state."""

from __future__ import annotations

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..chat.auth import Authenticator, Identity
from ..chat.moderation import Moderation
from ..schemas.limits import MAX_MESSAGE_ID
from ..schemas.moderation import MessageDeleted, ModerationQuery
from .routes import JSON, show_id_of, validated


class MessagePath(BaseModel):
    message_id: int = Field(ge=1, le=MAX_MESSAGE_ID)


class ModerationApi:
    def __init__(self, moderation: Moderation, authenticator: Authenticator) -> None:
        self._moderation = moderation
        self._auth = authenticator

    def routes(self) -> list[Route]:
        show = "/api/shows/{show_id}"
        return [
            Route(f"{show}/messages/{{message_id}}", self.delete_message, methods=["DELETE"]),
            Route(f"{show}/moderation", self.audit, methods=["GET"]),
            Route(f"{show}/moderation/state", self.state, methods=["GET"]),
        ]

    async def _identify(self, request: Request) -> Identity:
        return await self._auth.identify(self._auth.http_token(request.headers))

    async def delete_message(self, request: Request) -> Response:
        """The same rules as `delete_message`; `{"show_id", "message_id"}`."""
        identity = await self._identify(request)
        show_id = show_id_of(request)
        message_id = validated(
            MessagePath, {"message_id": request.path_params["message_id"]}
        ).message_id
        await self._moderation.delete_message(identity, show_id, message_id, None)
        return JSON(MessageDeleted(show_id=show_id, message_id=message_id).model_dump())

    async def audit(self, request: Request) -> Response:
        identity = await self._identify(request)
        show_id = show_id_of(request)
        query = validated(ModerationQuery, dict(request.query_params))
        page = await self._moderation.audit(
            identity, show_id, limit=query.limit, before_id=query.before_id
        )
        return JSON(page.model_dump())

    async def state(self, request: Request) -> Response:
        identity = await self._identify(request)
        state = await self._moderation.state(identity, show_id_of(request))
        return JSON(state.model_dump())
