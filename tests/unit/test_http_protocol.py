"""A connection's HTTP protocol is freed when the connection upgrades to a WebSocket, by
reference counting alone: no garbage collection has to find it."""

import gc
import weakref

import pytest
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from sharemyshows_rt.transport.http_protocol import UpgradingHttpProtocol

UPGRADE = (
    b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
    b"Host: 127.0.0.1:8000\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


class Transport:
    """The little of an asyncio transport the two protocols use here."""

    def __init__(self) -> None:
        self.protocol = None
        self.written: list[bytes] = []
        self.closed = False

    def get_extra_info(self, name, default=None):
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(
            name, default
        )

    def set_protocol(self, protocol) -> None:
        self.protocol = protocol

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def writelines(self, data) -> None:
        self.written.extend(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def _app(scope, receive, send):
    await receive()
    await send({"type": "websocket.close"})


def _upgraded(protocol_class) -> tuple[weakref.ref, Transport]:
    config = uvicorn.Config(_app, ws="websockets-sansio", lifespan="off", log_config=None)
    config.load()
    protocol = protocol_class(config=config, server_state=ServerState(), app_state={})
    transport = Transport()
    protocol.connection_made(transport)
    protocol.data_received(UPGRADE)
    return weakref.ref(protocol), transport


@pytest.mark.parametrize(
    "protocol_class, freed", [(UpgradingHttpProtocol, True), (HttpToolsProtocol, False)]
)
async def test_the_http_protocol_is_freed_at_the_upgrade(protocol_class, freed):
    gc.disable()
    try:
        spent, transport = _upgraded(protocol_class)
        assert transport.protocol is not None, "the connection was handed to a WebSocket"
        assert (spent() is None) is freed
    finally:
        gc.enable()
