"""A Socket.IO connection spoken by hand over aiohttp's websocket client.

No Socket.IO library sits between the test and the frames, so a test can do what a
well-behaved library never would: stop reading its socket for good, send a frame past the
server's limit, or flood the server with events faster than any client should.

Engine.IO v4 / Socket.IO v5 text framing: `0{...}` open, `2`/`3` ping/pong,
`40{auth}` connect, `40{"sid"}` connected, `44{...}` connect error, `42[event, data]` event,
`42<id>[event, data]` event asking for an ack, `43<id>[ack]` the ack, `41` disconnect.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
from collections.abc import Callable
from typing import Any

import aiohttp

from .settings import TIMEOUT

_EVENT = re.compile(r"^42(\d*)(\[.*)$", re.S)
_ACK = re.compile(r"^43(\d+)(\[.*)$", re.S)


class Closed(Exception):
    """The server closed the connection."""


class RawSocketIO:
    """One hand-spoken Socket.IO websocket connection.

    `receive_buffer` shrinks the socket's kernel receive buffer (SO_RCVBUF) so that a client
    that stops reading makes the server's sends back up after little data, as a phone on a
    dead network does."""

    def __init__(
        self, base_url: str, *, receive_buffer: int | None = None, headers: dict | None = None
    ) -> None:
        self.base_url = base_url
        self.headers = headers or {}
        self.events: list[tuple[str, Any]] = []
        self.acks: dict[int, Any] = {}
        self.sid: str | None = None
        self._next_ack = 1
        connector = aiohttp.TCPConnector(
            force_close=True,
            socket_factory=(lambda info: _small_buffer_socket(info, receive_buffer))
            if receive_buffer
            else None,
        )
        self._http = aiohttp.ClientSession(connector=connector)
        self.ws: aiohttp.ClientWebSocketResponse | None = None

    # ------------------------------------------------------------------ connection

    async def open(self, token: str, *, timeout: float = TIMEOUT) -> str:
        """Open the websocket, complete both handshakes; the Socket.IO sid."""
        url = f"{self.base_url}/socket.io/?EIO=4&transport=websocket"
        self.ws = await self._http.ws_connect(
            url,
            headers=self.headers,
            autoping=False,
            max_msg_size=0,
            timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=timeout),
        )
        opening = await self._frame(timeout)
        assert opening.startswith("0{"), f"expected the Engine.IO open packet, got {opening!r}"
        await self.ws.send_str("40" + json.dumps({"token": token}))
        connected = await self._until(lambda f: f[:2] in ("40", "44"), timeout)
        assert connected.startswith("40{"), f"the Socket.IO connect was refused: {connected!r}"
        self.sid = json.loads(connected[2:])["sid"]
        return self.sid

    async def close(self) -> None:
        try:
            if self.ws is not None and not self.ws.closed:
                transport = self._transport()
                if transport is not None:
                    transport.abort()
                await asyncio.wait_for(self.ws.close(), 1)
        except (TimeoutError, aiohttp.ClientError, OSError):
            pass
        finally:
            await self._http.close()

    def _transport(self) -> asyncio.Transport | None:
        connection = getattr(self.ws, "_conn", None)
        return getattr(connection, "transport", None)

    @property
    def local_port(self) -> int:
        """This end's TCP port (the server sees the connection coming from it)."""
        transport = self._transport()
        assert transport is not None, "not connected"
        return transport.get_extra_info("sockname")[1]

    def stop_reading(self) -> None:
        """Never read from the socket again (until `resume_reading`): the kernel buffers
        fill, and the server can no longer send to this connection."""
        transport = self._transport()
        assert transport is not None, "not connected"
        transport.pause_reading()

    def resume_reading(self) -> None:
        transport = self._transport()
        if transport is not None and not transport.is_closing():
            transport.resume_reading()

    # ------------------------------------------------------------------ talking

    async def send_frame(self, text: str) -> None:
        assert self.ws is not None
        await self.ws.send_str(text)

    async def emit(self, event: str, data: Any = None, *, ack: bool = False) -> int | None:
        """Send an event; with `ack`, the id its acknowledgement will carry."""
        ack_id = None
        if ack:
            ack_id, self._next_ack = self._next_ack, self._next_ack + 1
        await self.send_frame(f"42{ack_id or ''}" + json.dumps([event, data]))
        return ack_id

    async def call(self, event: str, data: Any = None, *, timeout: float = TIMEOUT) -> Any:
        ack_id = await self.emit(event, data, ack=True)
        await self._until(lambda _frame: ack_id in self.acks, timeout)
        return self.acks.pop(ack_id)

    async def wait_for(
        self,
        event: str,
        where: Callable[[Any], bool] = lambda _d: True,
        *,
        timeout: float = TIMEOUT,
    ) -> Any:
        """The first recorded `event` matching `where`, reading frames until it comes."""

        def found() -> list:
            return [data for name, data in self.events if name == event and where(data)]

        await self._until(lambda _frame: bool(found()), timeout, check_first=True)
        return found()[0]

    async def wait_closed(self, timeout: float = TIMEOUT) -> None:
        """Read until the server closes the connection (raises TimeoutError if it does not)."""
        try:
            await self._until(lambda _frame: False, timeout)
        except Closed:
            return

    # ------------------------------------------------------------------ frames

    async def _until(
        self, condition: Callable[[str], bool], timeout: float, *, check_first: bool = False
    ) -> str:
        if check_first and condition(""):
            return ""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            frame = await self._frame(deadline - loop.time())
            if condition(frame):
                return frame

    async def _frame(self, timeout: float) -> str:
        """The next text frame, recording events and acks, answering pings; Closed at the end."""
        assert self.ws is not None
        if timeout <= 0:
            raise TimeoutError
        message = await asyncio.wait_for(self.ws.receive(), timeout)
        if message.type in (
            aiohttp.WSMsgType.CLOSE,
            aiohttp.WSMsgType.CLOSING,
            aiohttp.WSMsgType.CLOSED,
            aiohttp.WSMsgType.ERROR,
        ):
            raise Closed(f"{message.type.name} {message.data!r}")
        frame = message.data if isinstance(message.data, str) else message.data.decode()
        if frame == "2":
            await self.ws.send_str("3")
        elif match := _EVENT.match(frame):
            name, *args = json.loads(match.group(2))
            self.events.append((name, args[0] if len(args) == 1 else args))
        elif match := _ACK.match(frame):
            values = json.loads(match.group(2))
            self.acks[int(match.group(1))] = values[0] if len(values) == 1 else values
        elif frame.startswith("41") or frame == "1":
            raise Closed(f"server sent {frame!r}")
        return frame


def _small_buffer_socket(info: tuple, receive_buffer: int) -> socket.socket:
    family, kind, proto, _canonname, _address = info
    sock = socket.socket(family, kind, proto)
    # Before connect(), so that the window the server sees is small from the start.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    return sock
