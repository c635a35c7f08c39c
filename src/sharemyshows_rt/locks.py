"""Per-key locks: changes to one user's presence in one show happen one at a time, in order;
and single flights: one database read per key for many callers at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class KeyedLock:
    """One asyncio lock per key, kept only while someone holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[object, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: object) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class SingleFlight:
    """Per key, one caller does a piece of work while the others that come meanwhile wait
    for it together. Unlike a lock, the waiters are all woken at once when it is done: a
    lock hands over one waiter per event-loop turn, and a storm of joiners queued behind
    one database read would then trickle out over seconds."""

    def __init__(self) -> None:
        self._inflight: dict[object, asyncio.Future[None]] = {}

    @asynccontextmanager
    async def once(self, key: object) -> AsyncIterator[bool]:
        """True: do the work (no one else is); False: it was just done by another caller,
        look at its result (and do it yourself if there is none)."""
        inflight = self._inflight.get(key)
        if inflight is not None:
            await asyncio.shield(inflight)
            yield False
            return
        future = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            yield True
        finally:
            del self._inflight[key]
            future.set_result(None)
