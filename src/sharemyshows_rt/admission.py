"""New websocket connections are let through their handshake a bounded number at a time.

When a headliner walks on stage, thousands of fans connect in the same seconds. Handled all
at once, their handshakes (upgrade, engine.io open, token check, Socket.IO connect) fill the
event loop's queue, and every fan already in, and every database round trip, waits behind
them: a join took up to a second. Waiting for a slot costs nothing but a suspended
coroutine, and a slot is given back when the Socket.IO handshake is done, when the
connection ends, or after `deadline` seconds, so that peers that never finish cannot hold
the slots."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]
SCOPE_KEY = "sharemyshows.handshake"


class Slot:
    """One handshake in progress; give it back once (later calls do nothing)."""

    def __init__(self, slots: asyncio.Semaphore, deadline: float) -> None:
        self._slots: asyncio.Semaphore | None = slots
        self._timer = asyncio.get_running_loop().call_later(deadline, self.release)

    def release(self) -> None:
        if self._slots is not None:
            self._slots.release()
            self._slots = None
            self._timer.cancel()


class HandshakeGate:
    """At most `limit` new websocket connections in their handshake at once."""

    def __init__(self, limit: int, deadline: float = 2.0) -> None:
        self.limit = limit
        self._deadline = deadline
        self._slots: asyncio.Semaphore | None = None

    def wrap(self, app: ASGIApp, path: str) -> ASGIApp:
        """`app`, with new websocket sessions under `path` gated (upgrades of an existing
        session, HTTP and everything else pass straight through)."""

        async def gated(scope: Scope, receive: Any, send: Any) -> None:
            if (scope["type"] != "websocket" or not scope.get("path", "").startswith(path)
                    or b"sid=" in scope.get("query_string", b"")):
                return await app(scope, receive, send)
            slot = await self._enter()
            scope[SCOPE_KEY] = slot
            try:
                return await app(scope, receive, send)
            finally:
                slot.release()

        return gated

    async def _enter(self) -> Slot:
        if self._slots is None:  # made on the serving loop
            self._slots = asyncio.Semaphore(self.limit)
        await self._slots.acquire()
        return Slot(self._slots, self._deadline)


def handshake_done(environ: MutableMapping[str, Any]) -> None:
    """The connection whose environ this is finished its Socket.IO handshake."""
    scope = environ.get("asgi.scope")
    slot = scope.pop(SCOPE_KEY, None) if isinstance(scope, MutableMapping) else None
    if slot is not None:
        slot.release()
