"""One WebSocket connection under engine.io: packets are framed by us and written straight to
the TCP transport (no ASGI message, no task per packet), a peer that stops reading is cut off
with a TCP reset, and a close the peer does not complete ends the connection anyway."""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from typing import Any

from engineio.async_drivers import asgi

from . import admission

log = logging.getLogger(__name__)


def websocket_frame(data: str | bytes) -> bytes:
    """An unfragmented, unmasked (server-to-client) WebSocket frame (RFC 6455 5.2): text for
    a str, binary for bytes."""
    if isinstance(data, str):
        payload, opcode = data.encode(), 0x81
    else:
        payload, opcode = bytes(data), 0x82
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", opcode, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", opcode, 126, size)
    else:
        header = struct.pack("!BBQ", opcode, 127, size)
    return header + payload


def frame_of(pkt: Any) -> bytes:
    """The WebSocket frame of an engine.io packet, built once per packet: a broadcast hands
    the same packet to every recipient."""
    frame = pkt.__dict__.get("websocket_frame")
    if frame is None:
        frame = pkt.websocket_frame = websocket_frame(pkt.encode())
    return frame


class Outbox:
    """Frames written during one turn of the event loop, kept per connection and written one
    turn later with one system call per connection: a group commit's broadcasts and its
    senders' acks (sent a turn after the commit) leave together: the fewer system calls,
    the cheaper the write path."""

    # Bytes one connection may have waiting here, beyond its first frame: about what its
    # transport takes before it pauses (asyncio's high-water mark). Past it the connection's
    # send queue, which is bounded and cuts off a peer that does not read, holds the rest.
    limit = 64 * 1024

    def __init__(self) -> None:
        self._frames: dict[AbortingWebSocket, list[bytes]] = {}
        # Connections written before the others: those with a frame meant for them alone.
        self._first: list[AbortingWebSocket] = []
        self._loop: asyncio.AbstractEventLoop | None = None  # where the next write is due

    def add(self, websocket: AbortingWebSocket, frame: bytes, first: bool = False) -> bool:
        """Keep `frame` for the next write; False when the connection has enough waiting.
        `first`: the frame is for this connection alone (a reply), and the connection is
        written before those that only wait for broadcasts: writing a broadcast to a
        crowd takes tens of milliseconds, and a fan who just joined would wait for it."""
        frames = self._frames.get(websocket)
        if frames is not None:
            size = websocket.outbox_bytes + len(frame)
            if size > self.limit:
                return False
            websocket.outbox_bytes = size
            frames.append(frame)
        else:
            if not self._frames or self._loop is None or self._loop.is_closed():
                # Frames left by a loop that closed before writing them are for connections
                # that died with it.
                self._frames = {}
                self._first = []
                self._loop = asyncio.get_running_loop()
                self._loop.call_soon(self._after_this_turn)
            self._frames[websocket] = [frame]
            websocket.outbox_bytes = len(frame)
        if first:
            self._first.append(websocket)
        return True

    def holds(self, websocket: AbortingWebSocket) -> bool:
        """This connection has frames waiting for the next write."""
        return websocket in self._frames

    def _after_this_turn(self) -> None:
        # Scheduled again, so it runs after the tasks woken in this turn have written too.
        asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        """Write out every connection's frames, those with a reply first."""
        frames, self._frames = self._frames, {}
        first, self._first = self._first, []
        for websocket in first:
            queued = frames.pop(websocket, None)
            if queued:
                self.write_now(websocket, queued)
        for websocket, queued in frames.items():
            self.write_now(websocket, queued)

    @staticmethod
    def write_now(websocket: AbortingWebSocket, queued: list[bytes]) -> None:
        """Write these frames to the connection now (a failure is logged: one broken
        transport must not keep the other connections' frames)."""
        try:
            websocket.write_frames(queued)
        except Exception:
            log.exception("writing %d frame(s) to a websocket failed", len(queued))

    def flush_one(self, websocket: AbortingWebSocket) -> None:
        """Write out this connection's frames now: something else is about to be sent."""
        queued = self._frames.pop(websocket, None)
        if queued:
            websocket.write_frames(queued)


class AbortingWebSocket(asgi.WebSocket):
    """Engine.IO's ASGI websocket over uvicorn's websockets (sans-I/O) protocol, writing
    frames itself. A send blocked for `timeout` aborts the TCP connection, and so does a close
    the peer has not completed by then (a polite close would wait for it for ever, holding
    its buffers). Blocked sends are watched by one task for all sockets, not timed one by one."""

    timeout = 20.0
    outbox = Outbox()  # one per server: BoundedEngineServer makes a subclass per server
    # The websockets whose send is blocked now: only these are watched, not every socket.
    _blocked: set[AbortingWebSocket] = set()
    _watchdog: asyncio.Task[None] | None = None
    _sending_since: float | None = None
    outbox_bytes = 0  # what this connection has waiting in the outbox
    _abort_timer: asyncio.TimerHandle | None = None

    async def __call__(self, environ: Any) -> Any:
        # uvicorn's protocol object is behind the ASGI send callable.
        self._protocol = getattr(environ.get("asgi.send"), "__self__", None)
        # The Engine.IO socket this websocket serves.
        engine_socket = getattr(self.handler, "__self__", None)
        if engine_socket is not None:
            engine_socket.websocket = self
        admission.opened(environ)  # the session exists, its open packet waits: next one
        try:
            return await super().__call__(environ)
        finally:
            self._unblocked()
            if engine_socket is not None:
                engine_socket.websocket = None

    def _blocked_since_now(self) -> None:
        self._sending_since = asyncio.get_running_loop().time()
        AbortingWebSocket._blocked.add(self)
        if AbortingWebSocket._watchdog is None or AbortingWebSocket._watchdog.done():
            AbortingWebSocket._watchdog = asyncio.ensure_future(_watch_sends())

    def _unblocked(self) -> None:
        self._sending_since = None
        AbortingWebSocket._blocked.discard(self)

    @property
    def frames_directly(self) -> bool:
        """Frames may be written to the transport by us: uvicorn's websockets protocol,
        without per-message compression (a compressed stream has state per connection)."""
        try:
            return self._protocol is not None and not self._protocol.conn.extensions
        except AttributeError:  # another websocket implementation: go through ASGI
            return False

    def write_packet(self, pkt: Any, first: bool = False) -> bool:
        """Write one engine.io packet now; False when the connection cannot take it now
        (`write_frame`). `first`: it is for this connection alone (`Outbox.add`)."""
        return self.write_frame(frame_of(pkt), first)

    def write_frame(self, frame: bytes, first: bool = False, at_once: bool = False) -> bool:
        """Write WebSocket frame(s) now; False when the connection cannot take them now (the
        peer is behind, a send or close is under way, or it is gone; `Outbox.add`).
        `at_once`: straight to the transport unless frames wait in the outbox (nothing else
        for this connection is expected this turn: the outbox would only cost its hop)."""
        protocol = self._protocol
        if (
            self._sending_since is not None
            or self.gone
            or not protocol.writable.is_set()
            or not protocol.handshake_complete
        ):
            return False
        if at_once and not self.outbox.holds(self):
            self.outbox.write_now(self, [frame])
            return True
        return self.outbox.add(self, frame, first)

    def write_frames(self, frames: list[bytes]) -> None:
        """Write frames to the transport, unless the connection has closed since."""
        if self.gone or self._protocol.transport.is_closing():
            return
        transport = self._protocol.transport
        if len(frames) == 1:
            transport.write(frames[0])
        else:
            transport.writelines(frames)

    @property
    def gone(self) -> bool:
        """Nothing more can be written: closed by either side, or the connection is lost."""
        protocol = self._protocol
        return protocol is None or protocol.close_sent or protocol.disconnected

    async def wait_writable(self) -> bool:
        """Wait until the peer has read enough to take more; False when it never will.
        The wait counts as a blocked send for the watchdog."""
        protocol = self._protocol
        self._blocked_since_now()
        try:
            while self.outbox.holds(self):  # written within two turns of the loop
                await asyncio.sleep(0)
            await protocol.writable.wait()
        finally:
            self._unblocked()
        return not self.gone

    async def send(self, message: Any) -> None:
        self.outbox.flush_one(self)  # what was written before goes first
        self._blocked_since_now()
        try:
            await super().send(message)
        finally:
            self._unblocked()

    async def close(self) -> None:
        if getattr(self, "_closed", False):
            # Closing once is enough (the queue and the reader may both ask); the reader's
            # call comes when the peer has answered: the reset is not needed any more.
            if self._abort_timer is not None and self._ended:
                self._abort_timer.cancel()
                self._abort_timer = None
            return
        self._closed = True
        self.outbox.flush_one(self)  # the close frame comes after every written frame
        try:
            await asyncio.wait_for(super().close(), self.timeout)
        except TimeoutError:
            pass
        if not self._ended:
            # The timer holds this websocket and, through it, the whole connection: only
            # while the peer has yet to answer (a timer for every close kept each closed
            # connection's objects for `timeout` seconds).
            self._abort_timer = asyncio.get_running_loop().call_later(self.timeout, self._abort)

    @property
    def _ended(self) -> bool:
        """The connection is lost, or closing with nothing left to send: it ends by itself."""
        protocol = self._protocol
        transport = getattr(protocol, "transport", None)
        if transport is None or getattr(protocol, "disconnected", False):
            return True
        return transport.is_closing() and transport.get_write_buffer_size() == 0

    def _abort(self) -> None:
        self._abort_timer = None
        protocol = self._protocol
        transport = getattr(protocol, "transport", None)
        if transport is not None and not getattr(protocol, "disconnected", False):
            _reset(transport)


async def _watch_sends() -> None:
    """Abort the connections whose current send has been blocked longer than allowed."""
    loop = asyncio.get_running_loop()
    while AbortingWebSocket._blocked:
        await asyncio.sleep(1.0)
        now = loop.time()
        for websocket in list(AbortingWebSocket._blocked):
            since = websocket._sending_since
            if since is not None and now - since > websocket.timeout:
                log.warning("aborting a connection that has not read for %.0fs", websocket.timeout)
                websocket._unblocked()
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
