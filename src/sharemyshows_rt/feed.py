"""A show's live feed: stored messages go out in id order, and a joiner's history and the
live messages after it meet with no gap and no repeat."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from .db.repositories import StoredMessage
from .fanout import Fanout
from .schemas import MessageOut

Payload = dict[str, Any]
Deliver = Callable[[list[Payload], bool], Awaitable[None]]
# Messages remembered for joiners still reading history; past this they simply read again.
MAX_REMEMBERED = 5000


@dataclass(slots=True)
class _Joins:
    """Joins of one show in progress, and what was published while they read history."""

    count: int = 0
    published: list[tuple[int, StoredMessage, Payload]] = field(default_factory=list)
    overflowed_at: int = -1  # sequence number at which `published` was given up


class Ticket:
    """One join in progress: attach with the history read after the ticket was taken."""

    def __init__(self, feed: ShowFeed, show_id: int) -> None:
        self._feed = feed
        self.show_id = show_id
        self.mark = feed._sequence

    async def attach(self, sid: str, history: list[StoredMessage], limit: int,
                     deliver: Deliver, *, after_id: int = 0) -> bool:
        """Enter the room and `deliver` the history (messages after `after_id`), completed
        with what was published since the ticket was taken, at most `limit` of the newest
        (`deliver` is told when older ones were cut). False, with nothing done, when what was
        published since is no longer known: read again."""
        return await self._feed._attach(self, sid, history, limit, deliver, after_id)


class ShowFeed:
    """Serialises publishing and attaching, so that each connection sees a show's messages
    once each and in id order: first its history, then the live ones."""

    def __init__(self, fanout: Fanout) -> None:
        self._fanout = fanout
        self._lock = asyncio.Lock()
        self._sequence = 0  # messages published by this process, all shows
        self._last_id: dict[int, int] = {}
        self._joins: dict[int, _Joins] = {}
        # Joiners whose history holds messages committed but not yet published: sid -> newest id.
        self._holding: dict[int, dict[str, int]] = {}

    @asynccontextmanager
    async def joining(self, show_id: int) -> AsyncIterator[Ticket]:
        """Take a ticket before reading a show's history from the database."""
        joins = self._joins.get(show_id)
        if joins is None:
            joins = self._joins[show_id] = _Joins()
        joins.count += 1
        try:
            yield Ticket(self, show_id)
        finally:
            joins.count -= 1
            if joins.count == 0:
                del self._joins[show_id]

    async def publish(self, messages: list[StoredMessage]) -> None:
        """Send `new_message` for each committed message, in order."""
        async with self._lock:
            for message in messages:
                show_id = message.show_id
                payload = MessageOut.of(message).model_dump()
                self._sequence += 1
                self._last_id[show_id] = max(self._last_id.get(show_id, 0), message.id)
                joins = self._joins.get(show_id)
                if joins is not None:
                    joins.published.append((self._sequence, message, payload))
                    if len(joins.published) > MAX_REMEMBERED:
                        joins.published.clear()
                        joins.overflowed_at = self._sequence
                await self._fanout.to_show("new_message", payload, show_id,
                                           skip=self._skip(show_id, message.id))

    def _skip(self, show_id: int, message_id: int) -> list[str] | None:
        holding = self._holding.get(show_id)
        if not holding:
            return None
        skip = [sid for sid, newest in holding.items() if newest >= message_id]
        for sid, newest in list(holding.items()):
            if newest <= message_id:
                del holding[sid]
        if not holding:
            del self._holding[show_id]
        return skip

    async def _attach(self, ticket: Ticket, sid: str, history: list[StoredMessage], limit: int,
                      deliver: Deliver, after_id: int) -> bool:
        show_id = ticket.show_id
        async with self._lock:
            joins = self._joins[show_id]
            if joins.overflowed_at > ticket.mark:
                return False
            newest = max(history[-1].id if history else 0, after_id)
            payloads = [MessageOut.of(message).model_dump() for message in history]
            for sequence, message, payload in joins.published:
                if sequence > ticket.mark and message.id > newest:
                    payloads.append(payload)
                    newest = message.id
            if newest > self._last_id.get(show_id, 0):
                # Committed but not yet published: it is on its way to the room, and this
                # connection has it already.
                self._holding.setdefault(show_id, {})[sid] = newest
            await self._fanout.enter(sid, show_id)
            kept = payloads[-limit:] if limit else []
            await deliver(kept, len(kept) < len(payloads))
        return True

    def forget(self, sid: str, show_id: int) -> None:
        """The connection left the show."""
        holding = self._holding.get(show_id)
        if holding is not None:
            holding.pop(sid, None)
            if not holding:
                del self._holding[show_id]
