"""A show's live feed: stored messages reach every member in id order, once each, and a
joiner's history and the live messages after it meet with no gap and no repeat.

With one process, messages are delivered as they are published. With several (Redis),
a message is published to Redis only, and every process, the publisher included,
delivers it to its own members when Redis hands it back: all processes then deliver in
the one order Redis saw, which per-show publish locks make the id order.

`ShowFeed` coordinates, under one lock per process: id order (order.py), gap-free joins
(joins.py), the join history cache (history_cache.py), the crowd window (crowd.py), waiting
for Redis's echo (echo.py) and delivering from the database while Redis is away
(fallback.py). `deliver` reads their state through references bound at construction, so
that each message costs the same few dictionary operations."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from typing import Any, Protocol

from .. import metrics
from ..db.repositories import MessagePage, MessageRepository, StoredMessage
from .crowd import CrowdWindow
from .echo import EchoPublisher
from .fallback import DatabaseFallback
from .history_cache import HistoryCache
from .joins import MAX_REMEMBERED, Deliver, JoinBook, Ticket
from .order import Recent
from .rooms import Fanout

Payload = dict[str, Any]
__all__ = ["Bus", "Deliver", "Payload", "ShowFeed", "Ticket"]


class Bus(Protocol):
    """Where messages go to reach every process (Redis), and per-show publish locks."""

    async def publish_messages(self, payloads: list[Payload]) -> bool:
        """Publish messages (in id order) to every process; False when they could not be
        published."""

    def ordered(self, show_ids: list[int]) -> AbstractAsyncContextManager[None]:
        """Hold the publish locks of these shows across processes."""


class ShowFeed:
    """Serialises delivering and attaching, per process."""

    def __init__(
        self,
        fanout: Fanout,
        messages: MessageRepository,
        bus: Bus | None = None,
        *,
        history_limit: int = 50,
        history_cache_seconds: float = 0.0,
        crowd: int = 100,
        crowd_window: float = 0.0,
    ) -> None:
        self._fanout = fanout
        self._messages = messages
        self._bus = bus
        self._history_limit = history_limit
        self._lock = asyncio.Lock()
        self._sequence = 0  # messages delivered by this process, all shows
        self._recent: dict[int, Recent] = {}
        self._crowd = CrowdWindow(fanout, self._lock, size=crowd, window=crowd_window)
        self._cache = HistoryCache(history_limit, history_cache_seconds, self._reread)
        self._book = JoinBook()
        self.fallback = DatabaseFallback(self, messages, fanout)
        publisher = EchoPublisher(bus, self.deliver, self.fallback)
        # Bound once: publishing and delivering reach the parts' state without an attribute
        # lookup through the part that owns it.
        self.publish = publisher.publish
        self._echoes = publisher.waiting
        self._gathering = self._crowd.gathering
        self._histories = self._cache.histories
        self._joins = self._book.joins
        self._skip = self._book.skip
        self.reading = self._cache.reading
        self.forget = self._book.forget

    def ordered(self, show_ids: list[int]) -> AbstractAsyncContextManager[None]:
        """Hold while storing and publishing messages of these shows (cross-process order)."""
        return self._bus.ordered(show_ids) if self._bus is not None else nullcontext()

    @asynccontextmanager
    async def joining(self, show_id: int) -> AsyncIterator[Ticket]:
        """Take a ticket before reading a show's history from the database."""
        self._book.enter(show_id)
        try:
            yield Ticket(self._attach, show_id, self._sequence)
        finally:
            self._book.leave(show_id)

    async def deliver(self, payloads: list[Payload]) -> None:
        """Deliver messages (in id order) to this process's members of their shows, once
        per id; a member gets a show's messages in one write."""
        by_show: dict[int, list[tuple[Payload, list[str] | None]]] = {}
        async with self._lock:
            for payload in payloads:
                show_id, message_id = payload["show_id"], payload["id"]
                recent = self._recent.get(show_id)
                if recent is None:
                    recent = self._recent[show_id] = Recent()
                if not recent.add(message_id):
                    continue
                self._sequence += 1
                joins = self._joins.get(show_id)
                if joins is not None:
                    joins.delivered.append((self._sequence, message_id, payload))
                    if len(joins.delivered) > MAX_REMEMBERED:
                        joins.delivered.clear()
                        joins.overflowed_at = self._sequence
                history = self._histories.get(show_id)
                if history is not None:
                    history.append(payload)
                by_show.setdefault(show_id, []).append((payload, self._skip(show_id, message_id)))
            for show_id, items in by_show.items():
                metrics.MESSAGES_DELIVERED.inc(len(items))
                gathering = self._gathering.get(show_id)
                if gathering is not None:
                    gathering.extend(items)
                elif (
                    (crowd := self._crowd).window > 0
                    and not crowd.closed
                    and self._fanout.room_size(show_id) > crowd.size
                ):
                    crowd.open(show_id, items)
                else:
                    await self._fanout.to_show_here("new_message", items, show_id)
        for payload in payloads:
            echo = self._echoes.get(payload["id"])
            if echo is not None and not echo.done():
                echo.set_result(None)

    async def deliver_from_bus(self, payloads: list[Payload]) -> None:
        """Messages Redis handed to this process."""
        await self.deliver([payload for payload in payloads if not self.fallback.hold(payload)])

    def last_delivered(self, show_id: int) -> int | None:
        """The newest message id this process's members of the show have (None: unknown)."""
        recent = self._recent.get(show_id)
        return recent.last_id if recent else None

    async def read_history(
        self, show_id: int, limit: int, after_id: int | None = None
    ) -> MessagePage:
        """A show's join history from the database: the newest `limit` messages (after
        `after_id` when given). Read it inside `joining`."""
        if not limit:
            return MessagePage([], False)
        with metrics.timed(metrics.DB_SECONDS, "history"):
            return await self._messages.page(show_id, limit=limit, after_id=after_id)

    async def attach_cached(self, sid: str, show_id: int, deliver: Deliver) -> bool:
        """Enter the room and `deliver` the cached join history; False when there is none.
        A history past its time is still served for a while (every delivery keeps it
        current) while one read in the background replaces it: no joiner waits for it."""
        if self._cache.ttl <= 0:
            return False
        async with self._lock:
            history = self._cache.servable(show_id)
            if history is None:
                return False
            await self._enter_room(sid, show_id)
            await deliver(list(history.payloads), history.older)
        return True

    async def _reread(self, show_id: int) -> None:
        """Read a show's join history again and cache it (what was delivered meanwhile is
        merged in, as for a joiner)."""
        async with self.joining(show_id) as ticket:
            page = await self.read_history(show_id, self._history_limit)
            await self._attach(
                ticket, None, page.messages, self._history_limit, None, 0, page.has_more
            )

    def drop(self, show_id: int, message_ids: set[int]) -> None:
        """Deleted messages: left out of the cached join history."""
        self._cache.drop(show_id, message_ids)

    async def close(self) -> None:
        """Stop the background reads; send what is gathered, and gather nothing more."""
        self._crowd.close()
        await self._cache.close()
        async with self._lock:
            await self._crowd.send_all()

    async def _enter_room(self, sid: str, show_id: int) -> None:
        """Enter a joiner into the show's room (under the lock), after sending what is
        gathered for it: the joiner's history holds those messages already."""
        await self._crowd.send(show_id)
        await self._fanout.enter(sid, show_id)

    async def _attach(
        self,
        ticket: Ticket,
        sid: str | None,
        history: list[StoredMessage],
        limit: int,
        deliver: Deliver | None,
        after_id: int,
        has_more: bool,
    ) -> bool:
        """Attach `sid` (None: only cache the history) under the feed's lock."""
        show_id = ticket.show_id
        async with self._lock:
            completed = self._book.completed(ticket, history, after_id)
            if completed is None:
                return False
            payloads, newest = completed
            if sid is None or deliver is None:  # refreshing the cache: nobody attaches
                self._cache.remember(show_id, payloads[-limit:], has_more or len(payloads) > limit)
                return True
            recent = self._recent.get(show_id)
            if recent is None:
                recent = self._recent[show_id] = Recent()
            if newest > recent.last_id:
                # Committed but not yet delivered: it is on its way to the room, and this
                # connection has it already.
                self._book.hold(show_id, sid, newest)
            # Where this show's deliveries stand for this process (read from on a Redis outage).
            recent.last_id = max(recent.last_id, newest)
            await self._enter_room(sid, show_id)
            kept = payloads[-limit:] if limit else []
            older = has_more or len(kept) < len(payloads)
            if not after_id and limit == self._history_limit and self._cache.ttl > 0:
                self._cache.remember(show_id, kept, older)
            await deliver(kept, older)
        return True
