"""A service on the operator's own network, as an attacker would like the server to reach
it: a TCP listener on loopback that records every connection made to it (an HTTP request,
a TLS hello or nothing at all) and answers nothing."""

from __future__ import annotations

import asyncio

from .settings import HOST


class InsideTarget:
    def __init__(self) -> None:
        self.port = 0
        self.connections = 0
        self.received = b""
        self._server: asyncio.Server | None = None

    async def start(self) -> InsideTarget:
        self._server = await asyncio.start_server(self._accept, HOST, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            self.received += await asyncio.wait_for(reader.read(4096), 5)
        except (TimeoutError, ConnectionError):
            pass  # what arrived (if anything) is recorded; the connection itself is the hit
        finally:
            writer.close()
