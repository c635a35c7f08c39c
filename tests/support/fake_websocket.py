"""The part of uvicorn's websockets (sans-I/O) protocol and its transport that
AbortingWebSocket uses, recorded."""

from __future__ import annotations

import asyncio

from sharemyshows_rt.transport.websocket import AbortingWebSocket, Outbox

WAIT = 2.0


class FakeTransport:
    def __init__(self, log: list) -> None:
        self.log = log
        self.closing = False
        self.broken = False
        self.buffered = 0  # bytes written that the peer has not read

    def write(self, data: bytes) -> None:
        self.writelines([data])

    def writelines(self, frames: list[bytes]) -> None:
        if self.broken:
            raise RuntimeError("unable to perform operation: the handler is closed")
        self.log.append(("write", list(frames)))

    def is_closing(self) -> bool:
        return self.closing

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def get_extra_info(self, name: str, default=None):
        return default  # no socket: nothing to set SO_LINGER on

    def close(self) -> None:
        self.closing = True

    def abort(self) -> None:
        self.log.append(("abort",))
        self.closing = True


class FakeProtocol:
    """What AbortingWebSocket reads of uvicorn's websockets (sans-I/O) protocol."""

    def __init__(self) -> None:
        self.log: list = []
        self.transport = FakeTransport(self.log)
        self.writable = asyncio.Event()
        self.writable.set()
        self.close_sent = False
        self.disconnected = False
        self.handshake_complete = True

    async def asgi_send(self, message: dict) -> None:
        self.log.append(("asgi", message["type"]))


def websocket(outbox: Outbox) -> tuple[AbortingWebSocket, FakeProtocol]:
    ws_class = type("TestWebSocket", (AbortingWebSocket,), {"outbox": outbox, "timeout": WAIT})
    ws = ws_class(handler=None, server=None)
    protocol = FakeProtocol()
    ws._protocol = protocol
    ws.asgi_send = protocol.asgi_send
    return ws, protocol
