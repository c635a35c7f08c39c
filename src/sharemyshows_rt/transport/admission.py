"""New connections are let through the server's part of their handshake a bounded number at
a time.

When a headliner walks on stage, thousands of fans connect in the same seconds. Handled all
at once, their handshakes (engine.io open, token check, user lookup, Socket.IO connect) fill
the event loop's queue, and every fan already in, and every database round trip, waits
behind them: a join took up to a second. Two steps are gated, each holding a slot only while
the server works, never while it waits for the client (a fan on venue Wi-Fi may take half a
second to answer): opening a new websocket session (until its websocket is accepted), and
handling a Socket.IO CONNECT. Waiting for a slot costs a suspended coroutine; a slot comes
back when its step is done, when the connection ends, or after `deadline` seconds."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]
SCOPE_KEY = "sharemyshows.handshake"


class Slot:
    """One handshake in progress; give it back once (later calls do nothing). The gate's
    coroutine keeps it for the connection's life: once released it holds nothing."""

    __slots__ = ("_slots", "_timer")

    def __init__(self, slots: asyncio.Semaphore, deadline: float) -> None:
        self._slots: asyncio.Semaphore | None = slots
        self._timer: asyncio.TimerHandle | None = asyncio.get_running_loop().call_later(
            deadline, self.release
        )

    def release(self) -> None:
        if self._slots is not None:
            self._slots.release()
            self._slots = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


class HandshakeGate:
    """At most `limit` handshake steps in progress at once."""

    def __init__(self, limit: int, deadline: float = 2.0) -> None:
        self.limit = limit
        self._deadline = deadline
        self._slots: asyncio.Semaphore | None = None

    def wrap(self, app: ASGIApp, path: str) -> ASGIApp:
        """`app`, with the opening of new websocket sessions under `path` gated until the
        websocket is accepted (`opened`). Upgrades of an existing session, HTTP and
        everything else pass straight through."""

        async def gated(scope: Scope, receive: Any, send: Any) -> None:
            if (
                scope["type"] != "websocket"
                or not scope.get("path", "").startswith(path)
                or b"sid=" in scope.get("query_string", b"")
            ):
                return await app(scope, receive, send)
            slot = await self._enter()
            scope[SCOPE_KEY] = slot
            try:
                return await app(scope, receive, send)
            finally:
                slot.release()

        return gated

    @contextlib.asynccontextmanager
    async def step(self) -> AsyncIterator[None]:
        """Hold a slot for one step of server work (a Socket.IO CONNECT)."""
        slot = await self._enter()
        try:
            yield
        finally:
            slot.release()

    async def _enter(self) -> Slot:
        if self._slots is None:  # made on the serving loop
            self._slots = asyncio.Semaphore(self.limit)
        await self._slots.acquire()
        return Slot(self._slots, self._deadline)


def opened(environ: MutableMapping[str, Any]) -> None:
    """The new session whose environ this is has its websocket: its opening step is done."""
    scope = environ.get("asgi.scope")
    slot = scope.pop(SCOPE_KEY, None) if isinstance(scope, MutableMapping) else None
    if slot is not None:
        slot.release()
