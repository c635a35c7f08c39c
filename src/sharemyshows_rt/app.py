"""The application, assembled in one place: database, presence, chat service, Socket.IO
server and REST routes, and the lifespan that starts and stops them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import socketio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from . import metrics
from .transport.admission import HandshakeGate
from .http.routes import Api, chat_error, http_error
from .chat.auth import Authenticator
from .http.bodylimit import BodyLimit
from .transport.broadcast import FastBroadcast
from .chat.service import ChatService, Rates
from .chat.checkins import CheckinRecorder
from .http.devtools import DevTools
from .config import Settings
from .http.crosssite import CrossSiteGuard
from .db.engine import create_engine
from .db.push import PushRepository
from .db.repositories import (CheckinRepository, MessageRepository, ShowRepository, UserRepository,
                              ping)
from .errors import ChatError
from .transport.fanout import Fanout
from .http.metrics_port import MetricsListener
from .delivery.feed import ShowFeed
from .backends.limits import ConnectionCap, RateLimiter
from .backends.memory.limits import MemoryConnectionCap, MemoryRateLimiter
from .backends.memory.presence import MemoryPresence
from .backends.presence import Presence
from .transport.origins import OriginCheck
from .transport.namespace import ChatNamespace, ChatServer
from .chat.roster import Roster
from .transport.wire import OrjsonPacket
from .http.push import PushApi
from .push.coalesce import Coalescer, MemoryCoalescer, RedisCoalescer
from .push.events import Events, MemoryEvents, RedisEvents
from .push.keys import VapidKeys, beside_database as keys_beside_database, parse as parse_vapid_key
from .push.notifier import Notifier
from .push.endpoints import EndpointPolicy
from .push.sender import Limits, PushSender
from .push.service import PushService
from .delivery.writer import MessageWriter
from .backends.redis.cluster import Cluster

log = logging.getLogger(__name__)


@dataclass
class Service:
    """Everything one process runs, for the lifespan, the shutdown and tests."""

    settings: Settings
    engine: Any
    presence: Presence
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
        eio = self.sio.eio
        log.info("draining %d connection(s)", len(eio.sockets))

        async def close(eio_sid: str) -> None:
            try:
                await asyncio.wait_for(eio.disconnect(eio_sid), grace / 2)
            except Exception as exc:
                log.warning("connection %s did not close cleanly: %r", eio_sid, exc)

        await asyncio.gather(*(close(eio_sid) for eio_sid in list(eio.sockets)))
        for sid in self.chat.sids():  # anything the transport did not report as gone
            await self.chat.disconnected(sid)
        await self.writer.flush(grace / 2)
        log.info("drained")


def build(settings: Settings, host: str = "127.0.0.1") -> Service:
    """Wire the service for `settings`, served on `host`; nothing connects until the
    lifespan starts."""
    engine = create_engine(settings.sqlalchemy_url, timeout=settings.db_timeout)
    messages = MessageRepository(engine)
    cluster = Cluster(settings.redis_url, settings.redis_namespace) if settings.redis_url else None
    presence: Presence = cluster.presence if cluster else MemoryPresence()
    limiter: RateLimiter = cluster.limiter if cluster else MemoryRateLimiter()
    cap: ConnectionCap = cluster.cap if cluster else MemoryConnectionCap()
    authenticator = Authenticator(settings.jwt_secret, settings.jwt_cookie_name,
                                  UserRepository(engine),
                                  remember_seconds=settings.user_cache_seconds)
    # The chat service emits through the server, and the server's namespace calls the
    # service: the server is made first, the namespace registered once both exist.
    sio = _socket_server(settings, cluster.manager if cluster else FastBroadcast())
    fanout = Fanout(sio)
    feed = ShowFeed(fanout, messages, cluster.bus if cluster else None,
                    history_limit=settings.history_limit,
                    history_cache_seconds=settings.history_cache_seconds,
                    crowd=settings.presence_list_limit,
                    crowd_window=settings.message_coalesce_ms / 1000)
    push_repository = PushRepository(engine)
    keys = vapid_keys(settings)
    policy = EndpointPolicy(settings.push_endpoint_allowlist, settings.push_service_hosts)
    push = PushService(push_repository, keys, policy)
    notifier = _notifier(settings, keys, push_repository, presence, cluster, policy)
    writer = MessageWriter(messages, feed, timeout=settings.db_timeout,
                           on_stored=notifier.message_stored if notifier else None)
    roster = Roster(presence, fanout, list_limit=settings.presence_list_limit,
                    coalesce_seconds=settings.presence_coalesce_ms / 1000)
    checkins = CheckinRecorder(CheckinRepository(engine))
    chat = ChatService(shows=ShowRepository(engine), messages=messages, checkins=checkins, presence=presence, roster=roster,
                       fanout=fanout,
                       feed=feed, writer=writer, limiter=limiter,
                       rates=Rates(settings.send_rate, settings.send_burst, settings.typing_rate,
                                   settings.send_rate_user, settings.send_burst_user),
                       history_limit=settings.history_limit,
                       message_max_length=settings.message_max_length)
    namespace = ChatNamespace(chat, authenticator, cap, settings.max_connections_per_user,
                              settings.history_limit, push)
    sio.attach_namespace(namespace)
    if cluster is not None:
        cluster.connect(chat, feed, fanout)

    async def accepting() -> None:
        if not namespace.accepting:
            raise RuntimeError("shutting down")

    async def database_ready() -> None:
        await ping(engine)

    checks = {"accepting": accepting, "database": database_ready}
    if cluster is not None:
        checks["redis"] = cluster.ping
    metrics_token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    api = Api(chat, authenticator, checks, settings.history_limit,
              metrics_here=settings.metrics_port is None, metrics_token=metrics_token)
    metrics.watch_rooms(fanout.room_sizes)
    metrics_port = None if settings.metrics_port is None else MetricsListener(
        settings.metrics_host or host, settings.metrics_port, metrics_token)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        writer.start()
        checkins.start()
        if metrics_port is not None:
            metrics_port.start()
        if notifier is not None:
            notifier.start()
        if cluster is not None:
            await cluster.start(sio)
        log.info("serving with %s; %s", settings.sqlalchemy_url.get_backend_name(),
                 "presence and fan-out through Redis" if cluster else "presence in memory")
        try:
            yield
        finally:
            await roster.close()
            await feed.close()
            await writer.stop()
            if notifier is not None:
                await notifier.stop()
            await checkins.stop(settings.shutdown_grace)
            if cluster is not None:
                await cluster.stop()
            await engine.dispose()
            if metrics_port is not None:
                await asyncio.to_thread(metrics_port.stop)

    routes = api.routes() + PushApi(push, chat, authenticator).routes()
    if settings.development:
        routes += DevTools(UserRepository(engine), settings.jwt_secret,
                           settings.jwt_cookie_name).routes()
    rest = Starlette(
        routes=routes,
        middleware=[Middleware(CORSMiddleware, allow_origins=settings.cors_allowed_origins,
                               allow_credentials=True,
                               allow_methods=["GET", "POST", "PUT", "DELETE"],
                               allow_headers=["Authorization", "Content-Type", "X-CSRF-TOKEN"],
                               max_age=600),
                    Middleware(BodyLimit),
                    Middleware(CrossSiteGuard, origins=OriginCheck(settings.cors_allowed_origins),
                               authenticator=authenticator)],
        exception_handlers={ChatError: chat_error, HTTPException: http_error,
                            Exception: chat_error},
        lifespan=lifespan,
    )
    sio.handshakes = HandshakeGate(settings.handshake_concurrency)
    asgi = sio.handshakes.wrap(
        socketio.ASGIApp(sio, other_asgi_app=rest, socketio_path="socket.io"), "/socket.io")
    return Service(settings, engine, presence, chat, writer, sio, namespace, asgi)


def vapid_keys(settings: Settings) -> VapidKeys | None:
    """The VAPID keys: configured, or (development, SQLite) kept beside the database."""
    if settings.vapid_private_key is not None:
        return parse_vapid_key(settings.vapid_private_key.get_secret_value())
    database = settings.sqlalchemy_url.database
    if settings.development and settings.is_sqlite and database and database != ":memory:":
        return keys_beside_database(Path(database))
    log.warning("push notifications disabled: VAPID_PRIVATE_KEY is not set")
    return None


def _notifier(settings: Settings, keys: VapidKeys | None, repository: PushRepository,
              presence: Presence, cluster: Cluster | None,
              policy: EndpointPolicy) -> Notifier | None:
    if keys is None:
        return None
    subject = settings.vapid_subject or "mailto:dev@localhost"
    sender = PushSender(repository, keys, subject, policy, ttl=settings.push_ttl, limits=Limits(
        concurrency=settings.push_concurrency,
        origin_concurrency=settings.push_origin_concurrency,
        connect_timeout=settings.push_connect_timeout, read_timeout=settings.push_read_timeout,
        origin_failures=settings.push_origin_failures,
        origin_backoff=settings.push_origin_backoff))
    window = settings.push_coalesce_seconds
    if cluster is not None:
        coalescer: Coalescer = RedisCoalescer(cluster.redis, cluster.namespace, window)
        events: Events = RedisEvents(cluster.redis, cluster.namespace, cluster.presence.proc)
    else:
        coalescer, events = MemoryCoalescer(window), MemoryEvents()
    return Notifier(repository, presence, sender, coalescer, events,
                    checkin_window=settings.push_checkin_window,
                    url_template=settings.push_url_template)


def _socket_server(settings: Settings, manager: socketio.AsyncManager) -> ChatServer:
    return ChatServer(
        async_mode="asgi",
        client_manager=manager,
        # Browsers send Origin: only these may open a socket (cross-site hijacking);
        # clients without Origin (native apps, scripts) are let in, as the contract says.
        cors_allowed_origins=OriginCheck(settings.cors_allowed_origins),
        cors_credentials=True,
        max_http_buffer_size=settings.max_frame_bytes,
        ping_interval=settings.ping_interval,
        transports=settings.socketio_transports,
        ping_timeout=settings.ping_timeout,
        # One connection's events are handled one at a time, in the order sent.
        async_handlers=False,
        events_per_second=settings.events_per_second,
        send_queue_limit=settings.send_queue_limit,
        serializer=OrjsonPacket,
        logger=False,
        engineio_logger=False,
    )


def create_app(settings: Settings | None = None) -> Any:
    """The ASGI app (`uvicorn --factory sharemyshows_rt.app:create_app`)."""
    from .config import load_settings

    return build(settings or load_settings()).asgi
