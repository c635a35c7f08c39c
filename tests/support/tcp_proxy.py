"""A TCP relay, in the test's own event loop, between the server under test and its database,
that a test can break the way real networks and databases break:

- `pause()`: a black hole, as a frozen (SIGSTOPped) or unreachable-but-routed server behaves:
  connections are accepted and held, bytes are neither delivered nor answered;
- `refuse()`: a server that is down: open connections are reset, new ones are closed at once;
- `restore()`: back to normal; what a pause held is delivered, as a resumed server would.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import socket

from .settings import HOST


class State(enum.Enum):
    OPEN = "open"
    PAUSED = "paused"
    DOWN = "down"


class _Link:
    """One relayed connection: the client's end, PostgreSQL's end, and the two pumps."""

    def __init__(self, client: asyncio.StreamWriter) -> None:
        self.client = client
        self.upstream: asyncio.StreamWriter | None = None
        self.tasks: list[asyncio.Task] = []

    def reset(self) -> None:
        """Drop both ends without a goodbye (RST where the socket allows it)."""
        for writer in (self.client, self.upstream):
            if writer is not None and not writer.transport.is_closing():
                _linger_zero(writer)
                writer.transport.abort()
        for task in self.tasks:
            task.cancel()


def _linger_zero(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )


class TcpProxy:
    """Listens on a free port of HOST and relays every connection to `upstream`."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream_host = upstream_host
        self.upstream_port = upstream_port
        self.state = State.OPEN
        self.accepted = 0  # connections accepted since start, for tests to see reconnects
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._links: set[_Link] = set()
        self._server: asyncio.base_events.Server | None = None
        self.port = 0

    async def start(self) -> TcpProxy:
        self._server = await asyncio.start_server(self._accept, HOST, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    @property
    def open_connections(self) -> int:
        return len(self._links)

    # ------------------------------------------------------------------ faults

    def pause(self) -> None:
        """Black hole: hold every byte in both directions, and hold new connections."""
        self.state = State.PAUSED
        self._flowing.clear()

    def refuse(self) -> None:
        """Down: reset every open connection; close new ones as soon as they arrive."""
        self.state = State.DOWN
        self._flowing.set()  # let held pumps run into the closed state and end
        for link in list(self._links):
            link.reset()
        self._links.clear()

    def restore(self) -> None:
        """Back to normal; bytes held by a pause are delivered now."""
        self.state = State.OPEN
        self._flowing.set()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for link in list(self._links):
            link.reset()
        self._links.clear()
        if self._server is not None:
            await self._server.wait_closed()

    # ------------------------------------------------------------------ relaying

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if self.state is State.DOWN:
            _linger_zero(writer)
            writer.transport.abort()
            return
        link = _Link(writer)
        self._links.add(link)
        try:
            await self._flowing.wait()  # paused: the client waits, as for a frozen server
            if self.state is State.DOWN or link not in self._links:
                link.reset()
                return
            try:
                up_reader, link.upstream = await asyncio.open_connection(
                    self.upstream_host, self.upstream_port
                )
            except OSError:
                link.reset()
                return
            link.tasks = [
                asyncio.current_task(),  # type: ignore[list-item]
                asyncio.create_task(self._pump(up_reader, writer)),
            ]
            await self._pump(reader, link.upstream)
            await link.tasks[1]
        except (asyncio.CancelledError, ConnectionError, OSError):
            pass
        finally:
            self._links.discard(link)
            for end in (link.client, link.upstream):
                if end is not None and not end.transport.is_closing():
                    end.close()

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        """Copy bytes until end of stream, holding them while paused."""
        try:
            while True:
                data = await source.read(65536)
                await self._flowing.wait()
                if self.state is State.DOWN:
                    return
                if not data:
                    if sink.can_write_eof():
                        sink.write_eof()
                    return
                sink.write(data)
                await sink.drain()
        except (ConnectionError, OSError):
            return
