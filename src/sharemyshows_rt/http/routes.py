"""REST routes on the same app: health, readiness, a show's messages and active users."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import metrics
from ..chat.auth import Authenticator, Identity
from ..chat.limits import history_page_size
from ..chat.service import ChatService
from ..errors import ChatError, InvalidPayload, Unauthorized, from_exception
from ..schemas import (
    HISTORY_PAGE_MAX,
    ActiveUsersQuery,
    Health,
    Id,
    MessageOut,
    MessagePageOut,
    MessagesQuery,
    asyncapi,
)
from . import openapi

log = logging.getLogger(__name__)
REST_LIMIT_MAX = HISTORY_PAGE_MAX
ReadinessCheck = Callable[[], Awaitable[None]]
M = TypeVar("M", bound=BaseModel)


class JSON(JSONResponse):
    """JSON responses are never cached by a proxy: they describe live state."""

    def __init__(self, content: object, status_code: int = 200) -> None:
        super().__init__(content, status_code, headers={"Cache-Control": "no-store"})


class ShowPath(BaseModel):
    show_id: Id


class Api:
    """The routes, over the same chat service and authenticator as the socket."""

    def __init__(
        self,
        chat: ChatService,
        authenticator: Authenticator,
        checks: dict[str, ReadinessCheck],
        history_limit: int,
        *,
        metrics_here: bool = True,
        metrics_token: str | None = None,
    ) -> None:
        self._chat = chat
        self._auth = authenticator
        self._checks = checks
        self._default_limit = history_page_size(history_limit)
        self._metrics_here = metrics_here
        self._metrics_token = metrics_token
        self._openapi = JSONResponse(openapi.document())
        self._asyncapi = JSONResponse(asyncapi.document())

    def routes(self) -> list[Route]:
        routes = [
            Route("/healthz", self.healthz, methods=["GET", "HEAD"]),
            Route("/readyz", self.readyz, methods=["GET", "HEAD"]),
            Route("/openapi.json", self.openapi, methods=["GET"]),
            Route("/asyncapi.json", self.asyncapi, methods=["GET"]),
            Route("/api/shows/{show_id}/messages", self.messages, methods=["GET"]),
            Route("/api/shows/{show_id}/active_users", self.active_users, methods=["GET"]),
        ]
        if self._metrics_here:
            routes.append(Route("/metrics", self.metrics, methods=["GET"]))
        return routes

    async def openapi(self, request: Request) -> Response:
        return self._openapi

    async def asyncapi(self, request: Request) -> Response:
        """The Socket.IO events, described in AsyncAPI 3.0."""
        return self._asyncapi

    async def metrics(self, request: Request) -> Response:
        """Prometheus's text format; behind METRICS_TOKEN (Bearer) when it is set."""
        if not metrics.authorized(request.headers.get("authorization", ""), self._metrics_token):
            raise Unauthorized("/metrics needs the METRICS_TOKEN bearer token")
        body, content_type = metrics.exposition()
        return Response(body, headers={"Content-Type": content_type, "Cache-Control": "no-store"})

    async def healthz(self, request: Request) -> Response:
        return JSON(Health(status="ok").model_dump())

    async def readyz(self, request: Request) -> Response:
        failing = {}
        for name, check in self._checks.items():
            try:
                async with asyncio.timeout(2.0):
                    await check()
            except Exception as exc:
                log.warning("readiness: %s is not answering: %r", name, exc)
                failing[name] = type(exc).__name__
        if failing:
            return JSON({"status": "unavailable", "failing": failing}, 503)
        return JSON({"status": "ready"})

    async def _identify(self, request: Request) -> Identity:
        return await self._auth.identify(self._auth.http_token(request.headers))

    async def messages(self, request: Request) -> Response:
        """`{"show_id", "messages", "has_more"}`: a page of messages, oldest first."""
        await self._identify(request)
        show_id = show_id_of(request)
        query = validated(MessagesQuery, {"limit": self._default_limit, **request.query_params})
        page = await self._chat.history(show_id, limit=query.limit, before_id=query.before_id)
        body = MessagePageOut(
            show_id=show_id,
            messages=[MessageOut.of(m) for m in page.messages],
            has_more=page.has_more,
        )
        return JSON(body.model_dump())

    async def active_users(self, request: Request) -> Response:
        """The same body as the `active_users` event."""
        await self._identify(request)
        show_id = show_id_of(request)
        query = validated(ActiveUsersQuery, dict(request.query_params))
        await self._chat.require_show(show_id)
        page = await self._chat.active_users(show_id, query.offset, query.limit)
        return JSON({**page, "offset": query.offset})


def show_id_of(request: Request) -> int:
    """The `{show_id}` of the path, validated like every show id."""
    return validated(ShowPath, {"show_id": request.path_params["show_id"]}).show_id


def validated(model: type[M], data: Any, *, raw_json: bool = False) -> M:
    """`data` (a mapping, or JSON text with `raw_json`) as `model`, or InvalidPayload."""
    try:
        return model.model_validate_json(data) if raw_json else model.model_validate(data)
    except ValidationError as exc:
        details = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)
        )
        raise InvalidPayload(details) from None


async def chat_error(request: Request, exc: Exception) -> Response:
    error = exc if isinstance(exc, ChatError) else from_exception(exc)
    if not isinstance(exc, ChatError):
        log.error("%s %s failed: %r", request.method, request.url.path, exc, exc_info=exc)
    return JSON(error.http_body(), error.status)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSON({"error": {"message": exc.detail, "details": ""}}, exc.status_code)
