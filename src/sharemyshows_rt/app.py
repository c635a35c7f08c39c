"""The application, assembled in one place: settings, database, backend, chat service and
delivery, Socket.IO transport and REST routes, and the lifespan that starts and stops them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import BaseRoute

from . import metrics, wiring
from .backends import open_backend
from .backends.base import Backend
from .backends.presence import Presence
from .chat.auth import Authenticator
from .chat.service import ChatService
from .config import Settings
from .db.engine import create_engine
from .db.push import PushRepository
from .db.repositories import UserRepository, ping
from .delivery.writer import MessageWriter
from .errors import ChatError
from .http.bodylimit import BodyLimit
from .http.crosssite import CrossSiteGuard
from .http.devtools import DevTools
from .http.metrics_port import MetricsListener
from .http.moderation import ModerationApi
from .http.push import PushApi
from .http.routes import Api, chat_error, http_error
from .push.endpoints import EndpointPolicy
from .push.service import PushService
from .transport import server as transport
from .transport.chatserver import ChatServer
from .transport.fanout import SocketFanout
from .transport.namespace import ChatNamespace
from .transport.origins import OriginCheck
from .wiring import ChatParts

log = logging.getLogger(__name__)
Check = Callable[[], Awaitable[None]]


@dataclass
class Service:
    """Everything one process runs, for the lifespan, the shutdown and tests."""

    settings: Settings
    engine: Any
    presence: Presence
    backend: Backend
    chat: ChatService
    writer: MessageWriter
    sio: ChatServer
    namespace: ChatNamespace
    asgi: Any  # the ASGI application: Socket.IO (gated) and the REST routes

    async def drain(self) -> None:
        """Graceful shutdown: take no new connections and close every socket, so clients
        reconnect elsewhere; each user leaves their shows (check-outs written) and every
        queued message is stored and acknowledged first."""
        self.namespace.accepting = False
        grace = self.settings.shutdown_grace
        await transport.close_all(self.sio, grace / 2)
        for sid in self.chat.sids():  # anything the transport did not report as gone
            await self.chat.disconnected(sid)
        await self.writer.flush(grace / 2)
        log.info("drained")


def build(settings: Settings, host: str = "127.0.0.1") -> Service:
    """Wire the service for `settings`, served on `host`; nothing connects until the
    lifespan starts."""
    engine = create_engine(settings.sqlalchemy_url, timeout=settings.db_timeout)
    backend = open_backend(settings)
    authenticator = Authenticator(
        settings.jwt_secret,
        settings.jwt_cookie_name,
        UserRepository(engine),
        remember_seconds=settings.user_cache_seconds,
        admin_claim=settings.admin_claim,
    )
    # The chat service emits through the server, and the server's namespace calls the
    # service: the server is made first, bound to its namespace once both exist.
    sio, bus = transport.socket_server(settings, backend)
    pushes, keys = PushRepository(engine), wiring.vapid_keys(settings)
    policy = EndpointPolicy(settings.push_endpoint_allowlist, settings.push_service_hosts)
    notifier = wiring.notifier(settings, keys, pushes, backend, policy)
    parts = wiring.chat_parts(settings, engine, backend, SocketFanout(sio), bus, notifier)
    push = PushService(pushes, keys, policy)
    namespace = ChatNamespace(
        parts.chat,
        authenticator,
        backend.cap,
        settings.max_connections_per_user,
        settings.history_limit,
        push,
        parts.moderation,
    )
    transport.bind(sio, namespace, parts.feed)
    metrics_token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    api = Api(
        parts.chat,
        authenticator,
        _checks(namespace, engine, backend),
        settings.history_limit,
        metrics_here=settings.metrics_port is None,
        metrics_token=metrics_token,
    )
    metrics.watch_rooms(parts.fanout.room_sizes)
    metrics_port = _metrics_port(settings, host, metrics_token)
    lifespan = _lifespan(settings, engine, backend, sio, parts, metrics_port)
    routes = api.routes() + PushApi(push, parts.chat, authenticator).routes()
    routes += ModerationApi(parts.moderation, authenticator).routes()
    if settings.development:
        routes += DevTools(UserRepository(engine), settings).routes()
    rest = _rest(settings, routes, authenticator, lifespan)
    return Service(
        settings,
        engine,
        backend.presence,
        backend,
        parts.chat,
        parts.writer,
        sio,
        namespace,
        transport.asgi_app(sio, rest),
    )


def _metrics_port(settings: Settings, host: str, token: str | None) -> MetricsListener | None:
    """The separate metrics listener, when a metrics port is configured."""
    if settings.metrics_port is None:
        return None
    return MetricsListener(settings.metrics_host or host, settings.metrics_port, token)


def _checks(namespace: ChatNamespace, engine: Any, backend: Backend) -> dict[str, Check]:
    """The readiness checks: still accepting, the database answers, and the backend's own."""

    async def accepting() -> None:
        if not namespace.accepting:
            raise RuntimeError("shutting down")

    async def database_ready() -> None:
        await ping(engine)

    return {"accepting": accepting, "database": database_ready, **backend.checks()}


def _lifespan(
    settings: Settings,
    engine: Any,
    backend: Backend,
    sio: ChatServer,
    parts: ChatParts,
    metrics_port: MetricsListener | None,
) -> Any:
    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        parts.writer.start()
        parts.checkins.start()
        if metrics_port is not None:
            metrics_port.start()
        if parts.notifier is not None:
            parts.notifier.start()
        transport.start(sio)
        await backend.start(parts.chat.swept)
        await parts.moderation.start()
        log.info(
            "serving with %s; presence and fan-out in %s",
            settings.sqlalchemy_url.get_backend_name(),
            backend.name,
        )
        try:
            yield
        finally:
            await parts.roster.close()
            await parts.feed.close()
            await parts.moderation.stop()
            await parts.writer.stop()
            if parts.notifier is not None:
                await parts.notifier.stop()
            await parts.checkins.stop(settings.shutdown_grace)
            await backend.stop()
            await engine.dispose()
            if metrics_port is not None:
                await asyncio.to_thread(metrics_port.stop)

    return lifespan


def _rest(
    settings: Settings, routes: list[BaseRoute], authenticator: Authenticator, lifespan: Any
) -> Starlette:
    return Starlette(
        routes=routes,
        middleware=[
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_allowed_origins,
                allow_credentials=True,
                allow_methods=["GET", "POST", "PUT", "DELETE"],
                allow_headers=["Authorization", "Content-Type", "X-CSRF-TOKEN"],
                max_age=600,
            ),
            Middleware(BodyLimit),
            Middleware(
                CrossSiteGuard,
                origins=OriginCheck(settings.cors_allowed_origins),
                authenticator=authenticator,
            ),
        ],
        exception_handlers={
            ChatError: chat_error,
            HTTPException: http_error,
            Exception: chat_error,
        },
        lifespan=lifespan,
    )


def create_app(settings: Settings | None = None) -> Any:
    """The ASGI app (`uvicorn --factory sharemyshows_rt.app:create_app`)."""
    from .config import load_settings

    return build(settings or load_settings()).asgi
