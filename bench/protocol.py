"""A minimal Socket.IO v5 / Engine.IO v4 client over a raw WebSocket, for thousands of
simulated users in one process.

One `SioClient` is one asyncio Protocol: no task, no stream reader, no per-message coroutine.
Frames are parsed straight out of `data_received`; a frame whose content the load generator
does not need (presence broadcasts, history) is counted and skipped without being buffered
or decoded, however large. Everything the client learns goes to a `Listener` (the worker's
hub), which does the bookkeeping for the whole process.

Wire: `GET /socket.io/?EIO=4&transport=websocket` upgraded to a WebSocket (RFC 6455, no
extensions); the server opens with `0{"sid":..}`, the client answers `40{"token":..}` (auth
payload), the server acknowledges `40{"sid":..}` and emits `42["connected",{..}]`. Events are
`42["name",{..}]`; an event asking for an acknowledgement is `42<id>["name",{..}]` and is
answered by `43<id>[{..}]`. The server's Engine.IO ping `2` is answered by pong `3`, and a
WebSocket ping frame by a pong frame.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import random
import time
from typing import Protocol

import orjson

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_PEEK = 64  # bytes of a frame's payload that tell which event it is
_BIG = 4096  # longer frames are skipped, not buffered, unless their content is needed
_getrandbits = random.getrandbits
_monotonic_ns = time.monotonic_ns

# Connection states
CONNECTING, UPGRADING, OPENING, AUTHENTICATING, CONNECTED, CLOSED = range(6)


class Listener(Protocol):
    """What a client reports to (the worker's hub)."""

    now: int  # monotonic ns of the read being processed
    bytes_in: int
    frames_in: int
    needs_payload: frozenset[bytes]

    def on_connected(self, client: SioClient) -> None: ...
    def on_event(self, client: SioClient, name: bytes, payload: bytes | None) -> None: ...
    def on_ack(self, client: SioClient, ack_id: int, payload: bytes) -> None: ...
    def on_refused(self, client: SioClient, reason: str) -> None: ...
    def on_closed(self, client: SioClient, reason: str) -> None: ...


def mask_frame(opcode: int, data: bytes) -> bytes:
    """A final client frame: header, mask key and the masked payload (RFC 6455 5.3)."""
    n = len(data)
    if n < 126:
        header = bytes((0x80 | opcode, 0x80 | n))
    elif n < 65536:
        header = bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        header = bytes((0x80 | opcode, 0x80 | 127)) + n.to_bytes(8, "big")
    key = _getrandbits(32).to_bytes(4, "little")
    if not n:
        return header + key
    keys = (key * ((n >> 2) + 1))[:n]
    masked = (int.from_bytes(data, "little") ^ int.from_bytes(keys, "little")).to_bytes(n, "little")
    return header + key + masked


def event_name(head: bytes) -> bytes | None:
    """The event name of a Socket.IO EVENT packet (`42["name",...`), from its first bytes."""
    if not head.startswith(b'42["'):
        return None
    end = head.find(b'"', 4)
    return head[4:end] if end > 0 else None


class SioClient(asyncio.Protocol):
    """One simulated user's connection."""

    __slots__ = (
        "hub",
        "index",
        "user_id",
        "token",
        "host",
        "port",
        "transport",
        "state",
        "buf",
        "skip",
        "skip_event",
        "frag",
        "key",
        "ack_seq",
        "pending",
        "show_id",
        "t_start",
        "t_connected",
        "t_join_sent",
        "t_joined",
        "close_reason",
        "sender",
        "sent",
        "waiter",
    )

    def __init__(
        self,
        hub: Listener,
        index: int,
        user_id: int,
        token: str,
        host: str,
        port: int,
        show_id: int | None = None,
    ) -> None:
        self.hub = hub
        self.index = index
        self.user_id = user_id
        self.token = token
        self.host = host
        self.port = port
        self.show_id = show_id  # the show to join once connected (None: stay idle)
        self.transport: asyncio.Transport | None = None
        self.state = CONNECTING
        self.buf = bytearray()
        self.skip = 0  # bytes of the current (skipped) frame still to come
        self.skip_event: bytes | None = None
        self.frag: list[bytes] = []
        self.key = b""
        self.ack_seq = 0
        self.pending: dict[int, tuple] = {}  # ack id -> (what, monotonic ns sent, extra)
        self.t_start = 0
        self.t_connected = 0
        self.t_join_sent = 0
        self.t_joined = 0
        self.close_reason = ""
        self.sender = None  # scenario state of a sending client
        self.sent = 0
        self.waiter: asyncio.Future | None = None  # resolved when connected (or failed)

    # ------------------------------------------------------------------ transport

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.state = UPGRADING
        key = base64.b64encode(os.urandom(16))
        self.key = key
        request = (
            b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
            b"Host: " + f"{self.host}:{self.port}".encode() + b"\r\n"
            b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        transport.write(request)  # type: ignore[attr-defined]

    def connection_lost(self, exc: Exception | None) -> None:
        reason = self.close_reason or (f"connection lost: {exc!r}" if exc else "connection closed")
        self._gone(reason)

    def eof_received(self) -> bool:
        self.close_reason = self.close_reason or "server closed the TCP connection"
        return False

    def _gone(self, reason: str) -> None:
        if self.state == CLOSED:
            return
        was_connected = self.state == CONNECTED
        self.state = CLOSED
        self.close_reason = reason
        self.transport = None
        if not was_connected:
            self.hub.on_refused(self, reason)
        self.hub.on_closed(self, reason)

    def close(self, reason: str = "closed by the load generator") -> None:
        """Close cleanly: WebSocket close frame, then the TCP connection."""
        transport = self.transport
        if transport is None:
            return
        self.close_reason = reason
        try:
            if self.state >= OPENING:
                transport.write(mask_frame(0x8, (1000).to_bytes(2, "big")))
            transport.close()
        except Exception:  # the transport may already be broken
            transport.abort()

    def abort(self, reason: str) -> None:
        if self.transport is not None:
            self.close_reason = reason
            self.transport.abort()

    # ------------------------------------------------------------------ sending

    def send_text(self, text: bytes) -> bool:
        transport = self.transport
        if transport is None or self.state == CLOSED:
            return False
        transport.write(mask_frame(0x1, text))
        return True

    def emit(self, event: str, payload: bytes, ack: tuple | None = None) -> int:
        """Send `42[event, payload]`; with `ack` (what, sent ns, extra) ask for an ack and
        remember it. Returns the ack id (0: none, -1: not sent)."""
        if ack is None:
            ok = self.send_text(b'42["' + event.encode() + b'",' + payload + b"]")
            return 0 if ok else -1
        self.ack_seq += 1
        ack_id = self.ack_seq
        if not self.send_text(
            b"42" + str(ack_id).encode() + b'["' + event.encode() + b'",' + payload + b"]"
        ):
            return -1
        self.pending[ack_id] = ack
        return ack_id

    def join(self, show_id: int) -> None:
        self.show_id = show_id
        self.t_join_sent = _monotonic_ns()
        self.t_joined = 0
        self.emit("join_show", b'{"show_id":%d}' % show_id)

    # ------------------------------------------------------------------ receiving

    def data_received(self, data: bytes) -> None:
        hub = self.hub
        hub.now = _monotonic_ns()
        hub.bytes_in += len(data)
        if self.skip:
            n = len(data)
            if n < self.skip:
                self.skip -= n
                return
            data = data[self.skip :]
            self.skip = 0
            name, self.skip_event = self.skip_event, None
            hub.frames_in += 1
            hub.on_event(self, name, None)  # type: ignore[arg-type]
            if not data:
                return
        buf = self.buf
        buf += data
        if self.state == UPGRADING:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > 16384:
                    self._fail("oversized HTTP response")
                return
            head = bytes(buf[:end])
            del buf[: end + 4]
            if not self._upgraded(head):
                return
        self._parse()

    def _upgraded(self, head: bytes) -> bool:
        status = head.split(b"\r\n", 1)[0]
        if b" 101 " not in status + b" ":
            self._fail(f"upgrade refused: {status.decode(errors='replace')}")
            return False
        accept = base64.b64encode(hashlib.sha1(self.key + _GUID).digest())
        if accept not in head:
            self._fail("bad Sec-WebSocket-Accept")
            return False
        self.state = OPENING
        return True

    def _fail(self, reason: str) -> None:
        self.close_reason = reason
        if self.transport is not None:
            self.transport.abort()

    def _parse(self) -> None:
        buf = self.buf
        pos = 0
        end = len(buf)
        while end - pos >= 2 and self.state != CLOSED:
            b0 = buf[pos]
            b1 = buf[pos + 1]
            length = b1 & 0x7F
            h = pos + 2
            if length == 126:
                if end - h < 2:
                    break
                length = (buf[h] << 8) | buf[h + 1]
                h += 2
            elif length == 127:
                if end - h < 8:
                    break
                length = int.from_bytes(buf[h : h + 8], "big")
                h += 8
            mask = None
            if b1 & 0x80:  # servers never mask; tolerated anyway
                if end - h < 4:
                    break
                mask = bytes(buf[h : h + 4])
                h += 4
            available = end - h
            if available < length:
                if length > _BIG and available >= _PEEK and mask is None and b0 == 0x81:
                    name = event_name(bytes(buf[h : h + _PEEK]))
                    if name is not None and name not in self.hub.needs_payload:
                        self.skip = length - available
                        self.skip_event = name
                        pos = end
                break
            payload = bytes(buf[h : h + length])
            pos = h + length
            if mask is not None:
                keys = (mask * ((length >> 2) + 1))[:length]
                payload = (
                    int.from_bytes(payload, "little") ^ int.from_bytes(keys, "little")
                ).to_bytes(length, "little")
            self._frame(b0, payload)
        if pos:
            del buf[:pos]

    def _frame(self, b0: int, payload: bytes) -> None:
        opcode = b0 & 0x0F
        if opcode in (0x1, 0x2, 0x0):
            if not b0 & 0x80:  # fragmented message: rare, assembled
                self.frag.append(payload)
                return
            if self.frag:
                self.frag.append(payload)
                payload = b"".join(self.frag)
                self.frag.clear()
            self.hub.frames_in += 1
            self._packet(payload)
        elif opcode == 0x9:  # ping -> pong
            if self.transport is not None:
                self.transport.write(mask_frame(0xA, payload))
        elif opcode == 0x8:  # close
            code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
            self.close_reason = self.close_reason or f"server closed the WebSocket ({code})"
            if self.transport is not None:
                try:
                    self.transport.write(mask_frame(0x8, payload[:2]))
                finally:
                    self.transport.close()

    def _packet(self, p: bytes) -> None:
        kind = p[:1]
        if kind == b"4":  # Engine.IO MESSAGE carrying a Socket.IO packet
            sio = p[1:2]
            if sio == b"2":
                name = event_name(p)
                if name == b"connected" and self.state == AUTHENTICATING:
                    self.state = CONNECTED
                    self.t_connected = self.hub.now
                    self.hub.on_connected(self)
                elif name is not None:
                    self.hub.on_event(self, name, p)
            elif sio == b"3":
                i = 2
                while i < len(p) and 48 <= p[i] <= 57:
                    i += 1
                self.hub.on_ack(self, int(p[2:i]), p[i:])
            elif sio == b"0":
                pass  # namespace joined; `connected` follows
            elif sio == b"4":
                reason = "refused: " + p[2:].decode(errors="replace")
                self.close_reason = reason
                self.close(reason)
            elif sio == b"1":
                self.close_reason = self.close_reason or "server disconnected the namespace"
        elif kind == b"2":  # ping
            self.send_text(b"3" + p[1:])
        elif kind == b"0":  # open
            if self.state == OPENING:
                self.state = AUTHENTICATING
                self.send_text(b"40" + orjson.dumps({"token": self.token}))
        elif kind == b"1":  # close
            self.close_reason = self.close_reason or "server closed the Engine.IO session"


async def open_client(loop: asyncio.AbstractEventLoop, client: SioClient, timeout: float) -> bool:
    """TCP-connect `client`; True once the TCP connection exists (the rest is callbacks)."""
    client.t_start = _monotonic_ns()
    try:
        await asyncio.wait_for(
            loop.create_connection(lambda: client, client.host, client.port), timeout
        )
    except (TimeoutError, OSError) as exc:
        client.state = CLOSED
        client.close_reason = f"TCP connect failed: {exc!r}"
        client.hub.on_refused(client, client.close_reason)
        return False
    return True
