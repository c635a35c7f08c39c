"""The Socket.IO server and the ASGI application, built from the settings and the backend:
the one place that chooses python-socketio's client manager (this process, or Redis)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import socketio

from ..backends.base import Backend
from ..config import Settings
from ..delivery.feed import Bus, ShowFeed
from .admission import HandshakeGate
from .broadcast import FastBroadcast
from .chatserver import ChatServer
from .namespace import ChatNamespace
from .origins import OriginCheck
from .redis_manager import ChatRedisManager, RedisBus
from .wire import OrjsonPacket

log = logging.getLogger(__name__)


def socket_server(settings: Settings, backend: Backend) -> tuple[ChatServer, Bus | None]:
    """The server, and the bus that carries chat messages to the other processes (None
    when the backend has no broker: this process is alone)."""
    manager: socketio.AsyncManager = FastBroadcast()
    bus: Bus | None = None
    if backend.broker is not None and backend.locks is not None:
        redis_manager = ChatRedisManager(
            backend.broker.url,
            channel=backend.broker.channel,
            json=OrjsonPacket.json,
            redis_options={"socket_connect_timeout": 2, "health_check_interval": 10},
        )
        manager, bus = redis_manager, RedisBus(redis_manager, backend.locks)
    server = ChatServer(
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
        handshakes=HandshakeGate(settings.handshake_concurrency),
        serializer=OrjsonPacket,
        logger=False,
        engineio_logger=False,
    )
    return server, bus


def bind(server: ChatServer, namespace: ChatNamespace, feed: ShowFeed) -> None:
    """Hand the server its chat namespace, and the manager the feed that takes the chat
    messages of every process (and hears when the bus is lost and back)."""
    server.bind(namespace)
    if isinstance(server.manager, ChatRedisManager):
        server.manager.bind(feed)


def start(server: ChatServer) -> None:
    """Subscribe to the other processes now, not at the first connection."""
    if not server.manager_initialized:
        server.manager_initialized = True
        server.manager.initialize()


def asgi_app(server: ChatServer, rest: Any) -> Any:
    """Socket.IO at /socket.io (its handshakes gated), everything else to `rest`."""
    app = socketio.ASGIApp(server, other_asgi_app=rest, socketio_path="socket.io")
    return server.handshakes.wrap(app, "/socket.io") if server.handshakes else app


async def close_all(server: ChatServer, timeout: float) -> None:
    """Close every connection (each given `timeout` seconds), so clients reconnect elsewhere."""
    eio = server.eio
    log.info("draining %d connection(s)", len(eio.sockets))

    async def close(eio_sid: str) -> None:
        try:
            await asyncio.wait_for(eio.disconnect(eio_sid), timeout)
        except Exception as exc:
            log.warning("connection %s did not close cleanly: %r", eio_sid, exc)

    await asyncio.gather(*(close(eio_sid) for eio_sid in list(eio.sockets)))
