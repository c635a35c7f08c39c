"""Serving with uvicorn, one process or several, with a graceful shutdown: on SIGTERM or
SIGINT each process drains first (no new connections, sockets closed so clients reconnect
elsewhere, check-outs and queued messages written), then uvicorn stops. A second signal
stops at once."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
from collections.abc import Awaitable, Callable
from types import FrameType
from typing import Any

import uvicorn
from uvicorn.supervisors import multiprocess
from uvicorn.supervisors.multiprocess import Multiprocess, Process

from .config import Settings
from .transport.http_protocol import UpgradingHttpProtocol

log = logging.getLogger(__name__)


class GracefulServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, drain: Callable[[], Awaitable[None]]) -> None:
        super().__init__(config)
        self._drain = drain
        self._loop: asyncio.AbstractEventLoop | None = None
        self._draining: asyncio.Future[None] | None = None

    async def serve(self, sockets=None) -> None:  # type: ignore[no-untyped-def]
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._loop is None or self._draining is not None or not self.started:
            return super().handle_exit(sig, frame)
        log.info("signal %s: draining before shutdown", sig)
        self._loop.call_soon_threadsafe(self._start_drain, sig, frame)

    def _start_drain(self, sig: int, frame: FrameType | None) -> None:
        if self._draining is None:
            self._draining = asyncio.ensure_future(self._drain_then_exit(sig, frame))

    async def _drain_then_exit(self, sig: int, frame: FrameType | None) -> None:
        try:
            await self._drain()
        except Exception:
            log.exception("draining failed; shutting down anyway")
        finally:
            # A drained shutdown is a clean exit (status 0): uvicorn is not told of the
            # signal, which it would re-raise at exit.
            self.should_exit = True


def uvicorn_config(
    app: Any, settings: Settings, host: str, port: int, workers: int = 1
) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        lifespan="on",
        ws_max_size=settings.max_frame_bytes + 1024,
        proxy_headers=True,
        # Compression is per connection: a broadcast would be deflated once per recipient
        # (and could not share one frame). Chat frames are small; not worth it.
        ws_per_message_deflate=False,
        # Engine.IO's sockets write frames to this implementation's transport themselves
        # (websocket.py), and Engine.IO's heartbeat already checks every peer: no second
        # ping timer and ping/pong per connection.
        ws="websockets-sansio",
        ws_ping_interval=None,
        http=UpgradingHttpProtocol,
        timeout_graceful_shutdown=int(settings.shutdown_grace),
        server_header=False,
        # Connections waiting to be accepted: room for a storm of fans connecting together,
        # whose handshakes the kernel would otherwise drop (their systems retry seconds
        # later). The kernel caps it at net.core.somaxconn.
        backlog=65535,
    )


def graceful_server(settings: Settings, host: str, port: int) -> GracefulServer:
    """One process's server: the app built for `settings`, draining on shutdown."""
    from .app import build

    service = build(settings, host)
    tune_garbage_collector()
    return GracefulServer(uvicorn_config(service.asgi, settings, host, port), service.drain)


def tune_garbage_collector() -> None:
    """Collect less often, and never walk what start-up made: every connection keeps a few
    hundred tracked objects, which full collections would walk over and over in a storm.
    The young generation's threshold (objects made minus freed) is above a busy loop's bursts
    (a group commit's batch, the coroutines of senders in flight), so collections do not walk
    objects about to be freed; the middle one is collected every 4th time, to keep its pauses
    short."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(25_000, 4, 100)


class _Worker(Process):
    """A uvicorn worker process whose server is ours: built in the child, after spawn."""

    @property
    def server(self) -> uvicorn.Server:
        if self._server is None:
            from . import logs
            from .config import load_settings

            settings = load_settings()
            logs.configure(settings.log_level, settings.log_json)
            self._server = graceful_server(settings, self.config.host, self.config.port)
        return self._server


def serve(settings: Settings, host: str, port: int, workers: int) -> int:
    """Serve until signalled; returns the exit code."""
    if workers == 1:
        server = graceful_server(settings, host, port)
        server.run()
        return 0 if server.started else 1
    if "polling" in settings.socketio_transports:
        # A polling session lives in one worker, but the workers share one socket: the
        # session's next request may land on another. Each worker reads this at start.
        os.environ["SOCKETIO_TRANSPORTS"] = "websocket"
        log.warning(
            "--workers %d: WebSocket only (long-polling needs one process per port "
            "behind a sticky load balancer, see docs/scaling.md)",
            workers,
        )
    # The parent only holds the socket and supervises; each worker builds its own app.
    config = uvicorn_config("sharemyshows_rt.app:create_app", settings, host, port, workers)
    config.factory = True
    socket = config.bind_socket()
    # uvicorn's supervisor starts (and restarts) workers through this name.
    multiprocess.Process = _Worker  # type: ignore[misc]
    Multiprocess(config, [socket]).run()
    return 0
