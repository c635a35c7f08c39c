"""Slow consumers: a connection that stops reading gets a bounded send queue. Past a soft
limit typing indicators are dropped first; past the hard limit the connection is closed,
so a stalled phone never grows the server's memory or delays anyone else."""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import weakref
from collections import deque
from typing import Any

import engineio
from engineio import packet
from engineio.async_drivers import asgi

from . import metrics

log = logging.getLogger(__name__)
_TYPING = '2["user_typing"'  # a Socket.IO EVENT packet for user_typing, as encoded


class SendQueue(asyncio.Queue):
    """An Engine.IO socket's outgoing packets, bounded by `limit`.

    `get()` returns a future rather than a coroutine: Engine.IO's writer awaits it under
    `asyncio.wait_for`, which then needs no task of its own per packet (Python 3.11)."""

    def __init__(self, server: BoundedEngineServer, limit: int) -> None:
        super().__init__()
        self._server = server
        self._limit = limit
        self._soft = max(1, limit // 5)
        self._waiting: deque[asyncio.Future[Any]] = deque()
        self.overflowed = False

    @property
    def idle(self) -> bool:
        """The writer waits on an empty queue: it holds no packet, so a frame written to the
        connection directly now cannot overtake one."""
        return bool(self._waiting) and not self._waiting[-1].done() and not self.qsize()

    def get(self) -> asyncio.Future[Any]:  # type: ignore[override]
        future = asyncio.get_running_loop().create_future()
        if self.qsize():
            future.set_result(self.get_nowait())
        else:
            self._waiting.append(future)
        return future

    def put_nowait(self, item: Any) -> None:
        if item is not None:  # the close marker always goes in
            if self.overflowed:
                return None
            size = self.qsize()
            if size >= self._soft and _is_typing(item):
                return None
            if size >= self._limit:
                self._overflow()
                return None
        super().put_nowait(item)
        while self._waiting and self.qsize():
            waiter = self._waiting.popleft()
            if not waiter.done():  # a waiter that timed out was cancelled
                waiter.set_result(self.get_nowait())

    def _overflow(self) -> None:
        self.overflowed = True
        metrics.RATE_LIMITED.labels("slow_consumer").inc()
        dropped = self.qsize()
        while not self.empty():  # nothing more will be read: free it now
            self.get_nowait()
            self.task_done()
        socket = next((s for s in self._server.sockets.values() if s.queue is self), None)
        if socket is None:
            return
        log.warning("closing connection %s: it stopped reading (%d packets waiting)",
                    socket.sid, dropped)
        self._server.start_background_task(self._server.close_stalled, socket)
        self.put_nowait(None)  # let the writer end as soon as it is unblocked


def _is_typing(item: Any) -> bool:
    return (isinstance(item, packet.Packet) and isinstance(item.data, str)
            and item.data.startswith(_TYPING))


class AbortingWebSocket(asgi.WebSocket):
    """Engine.IO's ASGI websocket, which gives up on a peer that stopped reading: a send
    blocked for `timeout` aborts the TCP connection, and so does a close the peer has not
    completed by then (a polite close would wait for it for ever, holding its buffers).

    Sends are watched by one task for all sockets, not timed one by one: a timer per send
    would cost a task per recipient of every broadcast."""

    timeout = 20.0
    _open: weakref.WeakSet[AbortingWebSocket] = weakref.WeakSet()
    _watchdog: asyncio.Task[None] | None = None

    async def __call__(self, environ: Any) -> Any:
        self._sending_since: float | None = None
        # The Engine.IO socket this websocket serves, for the broadcast's direct path.
        socket = getattr(self.handler, "__self__", None)
        if socket is not None:
            socket.websocket = self
        AbortingWebSocket._open.add(self)
        if AbortingWebSocket._watchdog is None or AbortingWebSocket._watchdog.done():
            AbortingWebSocket._watchdog = asyncio.ensure_future(_watch_sends())
        try:
            return await super().__call__(environ)
        finally:
            AbortingWebSocket._open.discard(self)

    async def send(self, message: Any) -> None:
        self._sending_since = asyncio.get_running_loop().time()
        try:
            await super().send(message)
        finally:
            self._sending_since = None

    async def close(self) -> None:
        try:
            await asyncio.wait_for(super().close(), self.timeout)
        except asyncio.TimeoutError:
            pass
        asyncio.get_running_loop().call_later(self.timeout, self._abort)

    def transport_for_direct_write(self) -> asyncio.Transport | None:
        """The TCP transport, when a ready-made frame may be written to it right now: the
        handshake is done, nothing is closing, the peer keeps up, no send is under way and
        the connection frames plainly (no per-message compression)."""
        protocol = getattr(self.asgi_send, "__self__", None)
        if protocol is None or self._sending_since is not None:
            return None
        try:
            if (not protocol.handshake_complete or protocol.close_sent or protocol.disconnected
                    or not protocol.writable.is_set() or protocol.conn.extensions):
                return None
            return protocol.transport
        except AttributeError:  # not uvicorn's websockets protocol: no shortcut
            return None

    def _abort(self) -> None:
        # uvicorn's protocol object is behind the ASGI send callable.
        protocol = getattr(self.asgi_send, "__self__", None)
        transport = getattr(protocol, "transport", None)
        if transport is not None and not getattr(protocol, "disconnected", False):
            _reset(transport)


async def _watch_sends() -> None:
    """Abort the connections whose current send has been blocked longer than allowed."""
    loop = asyncio.get_running_loop()
    while AbortingWebSocket._open:
        await asyncio.sleep(1.0)
        now = loop.time()
        for websocket in list(AbortingWebSocket._open):
            since = getattr(websocket, "_sending_since", None)
            if since is not None and now - since > websocket.timeout:
                log.warning("aborting a connection that has not read for %.0fs",
                            websocket.timeout)
                websocket._sending_since = None
                websocket._abort()


def _reset(transport: asyncio.Transport) -> None:
    """Abort with a TCP reset: closing a socket whose peer reads nothing would leave its
    unsent data, and the connection, lingering in the kernel for minutes."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass  # already closed
    transport.abort()  # a no-op on a connection already closed


class BoundedEngineServer(engineio.AsyncServer):
    """Engine.IO server whose sockets queue at most `send_queue_limit` packets each, and
    whose websockets give up on a peer that does not read within `send_timeout`."""

    send_queue_limit = 500

    def __init__(self, *args: Any, send_timeout: float = 20.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        websocket = type("TimedWebSocket", (AbortingWebSocket,), {"timeout": send_timeout})
        self._async = {**self._async, "websocket": websocket}

    async def handle_request(self, scope: Any, receive: Any, send: Any) -> Any:
        try:
            return await super().handle_request(scope, receive, send)
        except KeyError as exc:
            # engine.io raises this for a polling request whose session closed meanwhile
            # (a drain, a timeout): that request gets a 400, not a server error.
            log.info("request for a closed session refused: %s", exc)
            response = self._bad_request("Session is disconnected")
            await self._async["make_response"](response["status"], response["headers"],
                                               response["response"],
                                               {"asgi.scope": scope, "asgi.send": send})
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
