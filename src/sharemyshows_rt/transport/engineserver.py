"""The Engine.IO server: its sockets are `EngineSocket`s with a bounded `SendQueue` each, and
its websockets give up on a peer that does not read."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import engineio
from engineio import async_socket

from . import asgi_environ
from .backpressure import SendQueue
from .enginesocket import EngineSocket, monitor_heartbeats
from .websocket import AbortingWebSocket, Outbox

log = logging.getLogger(__name__)


class _Sockets(dict):
    """engine.io's session table; a session put in it becomes an `EngineSocket` (engine.io
    makes its sockets itself, with no factory to override)."""

    def __setitem__(self, sid: str, socket: Any) -> None:
        if type(socket) is async_socket.AsyncSocket:
            socket.__class__ = EngineSocket
        super().__setitem__(sid, socket)


class BoundedEngineServer(engineio.AsyncServer):
    """Engine.IO server whose sockets queue at most `send_queue_limit` packets each, and
    whose websockets give up on a peer that does not read within `send_timeout`."""

    send_queue_limit = 500

    def __init__(self, *args: Any, send_timeout: float = 20.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        websocket = type(
            "TimedWebSocket", (AbortingWebSocket,), {"timeout": send_timeout, "outbox": Outbox()}
        )
        self._async = {
            **self._async,
            "websocket": websocket,
            "translate_request": asgi_environ.translate_request,
        }

    @property
    def sockets(self) -> _Sockets:
        return self._sockets

    @sockets.setter
    def sockets(self, sockets: dict[str, Any]) -> None:
        self._sockets = _Sockets(sockets)

    async def _service_task(self) -> None:
        await monitor_heartbeats(self)

    async def handle_request(self, scope: Any, receive: Any, send: Any) -> Any:
        try:
            return await super().handle_request(scope, receive, send)
        except KeyError as exc:
            # engine.io raises this for a polling request whose session closed meanwhile
            # (a drain, a timeout): that request gets a 400, not a server error.
            log.info("request for a closed session refused: %s", exc)
            response = self._bad_request("Session is disconnected")
            await self._async["make_response"](
                response["status"],
                response["headers"],
                response["response"],
                {"asgi.scope": scope, "asgi.send": send},
            )
            return None

    def create_queue(self, *args: Any, **kwargs: Any) -> asyncio.Queue:
        if args or kwargs:
            return super().create_queue(*args, **kwargs)
        return SendQueue(self, self.send_queue_limit)

    async def close_stalled(self, socket: Any) -> None:
        """End a stalled connection for the application (its user leaves every show)."""
        try:
            await socket.close(wait=False, abort=True, reason=self.reason.TRANSPORT_ERROR)
        except Exception:
            log.exception("closing stalled connection %s failed", socket.sid)
