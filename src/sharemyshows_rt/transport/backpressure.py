"""Slow consumers: a connection that stops reading gets a bounded send queue. Past a soft
limit typing indicators are dropped first; past the hard limit the connection is closed,
so a stalled phone never grows the server's memory or delays anyone else."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import TYPE_CHECKING, Any

from engineio import packet

from .. import metrics
from ..chat.limits import DROPPED_FIRST

if TYPE_CHECKING:
    from .engineserver import BoundedEngineServer

log = logging.getLogger(__name__)
# Socket.IO EVENT packets, as encoded, of the events chat lets a slow reader lose first.
_DROPPED_FIRST = tuple(f'2["{name}"' for name in sorted(DROPPED_FIRST))


class _NoWaiters:
    """asyncio.Queue's lists of waiting getters and putters, for a queue that never has any:
    an empty deque each would be 600 bytes per connection."""

    __slots__ = ()

    def __len__(self) -> int:
        return 0

    def append(self, waiter: Any) -> None:
        raise RuntimeError("SendQueue has its own get(), and put() never waits")


_NO_WAITERS = _NoWaiters()


class _Finished:
    """asyncio.Queue's "everything taken is done" event, made an asyncio.Event (with its
    own deque) only when something waits for it: `join()`, when a polling session closes."""

    __slots__ = ("_is_set", "_event")

    def __init__(self) -> None:
        self._is_set = True
        self._event: asyncio.Event | None = None

    def is_set(self) -> bool:
        return self._is_set

    def set(self) -> None:
        self._is_set = True
        if self._event is not None:
            self._event.set()

    def clear(self) -> None:
        self._is_set = False
        if self._event is not None:
            self._event.clear()

    async def wait(self) -> bool:
        if self._is_set:
            return True
        if self._event is None:
            self._event = asyncio.Event()
        return await self._event.wait()


class SendQueue(asyncio.Queue):
    """An Engine.IO socket's outgoing packets, bounded by `limit`.

    On the websocket transport (`attach`), a packet is written to the connection as it is
    put, and the queue holds only what the peer is not ready for, flushed by a task that
    exists only while there is a backlog. On polling, `get()` returns a future rather than a
    coroutine: Engine.IO's poll awaits it under `asyncio.wait_for`, which then needs no task
    of its own per packet (Python 3.11)."""

    def __init__(self, server: BoundedEngineServer, limit: int) -> None:
        super().__init__()
        # Unbounded for asyncio (the limits are ours), so put() never waits, and get() is
        # ours: asyncio's waiter lists stay empty.
        self._getters = self._putters = _NO_WAITERS
        self._finished = _Finished()  # type: ignore[assignment]
        self._server = server
        self._limit = limit
        self._soft = max(1, limit // 5)
        self._waiting: deque[asyncio.Future[Any]] | None = None  # polling's get(), when used
        self._websocket: Any = None
        self._flusher: asyncio.Task[None] | None = None
        self.overflowed = False
        self._discarding = False
        self._closing = False  # websocket mode: the close marker is queued

    def attach(self, websocket: Any) -> None:
        """Write packets straight to this websocket from now on (what is queued first)."""
        self._websocket = websocket
        self._flush_later()

    def detach(self) -> None:
        """The websocket is over: nothing queued or put from now on will be sent."""
        self._websocket = None
        self._discarding = True
        self._discard()

    def end(self) -> None:
        """Close the websocket once what is queued has been written."""
        if self._websocket is not None:
            self.put_nowait(None)

    def get(self) -> asyncio.Future[Any]:  # type: ignore[override]
        future = asyncio.get_running_loop().create_future()
        if self.qsize():
            future.set_result(self.get_nowait())
        else:
            if self._waiting is None:
                self._waiting = deque()
            self._waiting.append(future)
        return future

    def put_nowait(self, item: Any, first: bool = False) -> None:
        """Send `item` (None: close once the rest is written); `first`: it is for this
        connection alone, a reply (`Outbox.add`)."""
        if self._discarding or self._closing:
            return None  # the websocket is over, or its close is on the way: nothing after it
        websocket = self._websocket
        if item is None:  # the close marker always goes in
            self._closing = websocket is not None
        else:
            if self.overflowed:
                return None
            if websocket is not None and not self.qsize() and websocket.write_packet(item, first):
                return None
            size = self.qsize()
            if size >= self._soft and _droppable(item):
                return None
            if size >= self._limit:
                self._overflow()
                return None
        super().put_nowait(item)
        if websocket is not None:
            self._flush_later()
            return None
        while self._waiting and self.qsize():
            waiter = self._waiting.popleft()
            if not waiter.done():  # a waiter that timed out was cancelled
                waiter.set_result(self.get_nowait())

    def put_many_nowait(self, items: list[Any], frames: bytes, at_once: bool = False) -> None:
        """`put_nowait` each item in order; `frames`: their WebSocket frames joined, written
        at once when the websocket can take them (a group commit's messages to a show);
        `at_once`: see `AbortingWebSocket.write_frame`."""
        websocket = self._websocket
        if (
            websocket is not None
            and not self.qsize()
            and not self.overflowed
            and not self._discarding
            and not self._closing
            and websocket.write_frame(frames, at_once=at_once)
        ):
            return None
        for item in items:
            self.put_nowait(item)
        return None

    def _flush_later(self) -> None:
        if self._flusher is not None:
            return  # it will get to what was just queued
        websocket = self._websocket
        while (
            self.qsize() and self._queue[0] is not None and websocket.write_packet(self._queue[0])
        ):  # type: ignore[attr-defined]
            self._take()  # written at once: no task needed
        if self.qsize():
            self._flusher = asyncio.ensure_future(self._flush(websocket))

    async def _flush(self, websocket: Any) -> None:
        try:
            await self._write_backlog(websocket)
        finally:
            self._flusher = None  # a finished task kept per connection is memory

    async def _write_backlog(self, websocket: Any) -> None:
        """Write the backlog in order as the peer reads; on the close marker, close."""
        waited = False
        while self.qsize() and self._websocket is websocket:
            item = self._queue[0]  # type: ignore[attr-defined]  # peek: it may stay
            if item is None:
                self._take()
                await websocket.close()
                continue
            if websocket.write_packet(item):
                self._take()
                waited = False
                continue
            if waited:
                await asyncio.sleep(0.05)  # writable, yet not writing: do not spin
            if not await websocket.wait_writable():
                self._discard()  # the peer is gone: nothing will ever be written
                return
            waited = True

    def _take(self) -> None:
        self.get_nowait()
        self.task_done()

    def _discard(self) -> None:
        while not self.empty():
            self._take()

    def _overflow(self) -> None:
        self.overflowed = True
        metrics.RATE_LIMITED.labels("slow_consumer").inc()
        dropped = self.qsize()
        self._discard()  # nothing more will be read: free it now
        socket = next((s for s in self._server.sockets.values() if s.queue is self), None)
        if socket is None:
            return
        log.warning(
            "closing connection %s: it stopped reading (%d packets waiting)", socket.sid, dropped
        )
        self._server.start_background_task(self._server.close_stalled, socket)
        self.put_nowait(None)  # let the writer end as soon as it is unblocked


def _droppable(item: Any) -> bool:
    return (
        isinstance(item, packet.Packet)
        and isinstance(item.data, str)
        and item.data.startswith(_DROPPED_FIRST)
    )
