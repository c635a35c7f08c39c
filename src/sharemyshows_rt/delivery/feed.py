"""A show's live feed: stored messages reach every member in id order, once each, and a
joiner's history and the live messages after it meet with no gap and no repeat.

With one process, messages are delivered as they are published. With several (Redis),
a message is published to Redis only, and every process, the publisher included,
delivers it to its own members when Redis hands it back: all processes then deliver in
the one order Redis saw, which per-show publish locks make the id order."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Protocol

from .. import metrics
from .fallback import DatabaseFallback
from ..db.repositories import MessagePage, MessageRepository, StoredMessage
from .rooms import Fanout
from ..chat.locks import SingleFlight
from ..schemas import message_payload
from ..tasks import cancel_all

log = logging.getLogger(__name__)
Payload = dict[str, Any]
Deliver = Callable[[list[Payload], bool], Awaitable[None]]
# Messages remembered for joiners still reading history; past this they simply read again.
MAX_REMEMBERED = 5000
RECENT_IDS = 256  # per show, to deliver a message once even if it comes twice
ECHO_TIMEOUT = 2.0  # seconds to wait for Redis to hand a published message back
MAX_CACHED_SHOWS = 2000  # join histories kept, least recently joined dropped first
# A join history past its time is served (and read again in the background) until this many
# times its time; older, a joiner reads it from the database itself.
STALE_FACTOR = 5


class Bus(Protocol):
    """Where messages go to reach every process (Redis), and per-show publish locks."""

    async def publish_messages(self, payloads: list[Payload]) -> bool:
        """Publish messages (in id order) to every process; False when they could not be
        published."""

    def ordered(self, show_ids: list[int]) -> AbstractAsyncContextManager[None]:
        """Hold the publish locks of these shows across processes."""


@dataclass(slots=True)
class _Joins:
    """Joins of one show in progress, and what was delivered while they read history."""

    count: int = 0
    delivered: list[tuple[int, int, Payload]] = field(default_factory=list)
    overflowed_at: int = -1  # sequence number at which `delivered` was given up


@dataclass(slots=True)
class _History:
    """A show's newest messages as its members were sent them: the join history, cached."""

    payloads: deque[Payload]
    older: bool  # older messages exist before the first one kept
    loaded: float

    def append(self, payload: Payload) -> None:
        if self.payloads and payload["id"] <= self.payloads[-1]["id"]:
            return  # already in: it was committed before the history was read
        if len(self.payloads) == self.payloads.maxlen:
            self.older = True
        self.payloads.append(payload)


@dataclass(slots=True)
class _Recent:
    last_id: int = 0
    ids: deque[int] = field(default_factory=lambda: deque(maxlen=RECENT_IDS))
    seen: set[int] = field(default_factory=set)

    def add(self, message_id: int) -> bool:
        """Remember the id; False when it was delivered before."""
        if message_id in self.seen:
            return False
        if len(self.ids) == self.ids.maxlen:
            self.seen.discard(self.ids[0])
        self.ids.append(message_id)
        self.seen.add(message_id)
        self.last_id = max(self.last_id, message_id)
        return True


class Ticket:
    """One join in progress: attach with the history read after the ticket was taken."""

    def __init__(self, feed: ShowFeed, show_id: int) -> None:
        self._feed = feed
        self.show_id = show_id
        self.mark = feed._sequence

    async def attach(self, sid: str, history: list[StoredMessage], limit: int,
                     deliver: Deliver, *, after_id: int = 0, has_more: bool = False) -> bool:
        """Enter the room and `deliver` the history (messages after `after_id`; `has_more`:
        older ones exist), completed with what was delivered since the ticket was taken, at
        most `limit` of the newest. False, with nothing done, when what was delivered since
        is no longer known: read again."""
        return await self._feed._attach(self, sid, history, limit, deliver, after_id, has_more)


class ShowFeed:
    """Serialises delivering and attaching, per process."""

    def __init__(self, fanout: Fanout, messages: MessageRepository, bus: Bus | None = None, *,
                 history_limit: int = 50, history_cache_seconds: float = 0.0,
                 crowd: int = 100, crowd_window: float = 0.0) -> None:
        self._fanout = fanout
        # In a show with more than `crowd` members here, the messages of a window go out
        # together: each member's write (a system call, half of a crowd's delivery cost)
        # then carries all of them.
        self._crowd = crowd
        self._crowd_window = crowd_window
        self._gathering: dict[int, list[tuple[Payload, list[str] | None]]] = {}
        self._sending: set[asyncio.Task[None]] = set()  # held until done
        self._closed = False
        self._messages = messages
        self._bus = bus
        self._history_limit = history_limit
        self._history_ttl = history_cache_seconds
        self._histories: OrderedDict[int, _History] = OrderedDict()
        self._lock = asyncio.Lock()
        self._sequence = 0  # messages delivered by this process, all shows
        self._recent: dict[int, _Recent] = {}
        self._joins: dict[int, _Joins] = {}
        # Joiners whose history holds messages committed but not yet delivered: sid -> newest id.
        self._holding: dict[int, dict[str, int]] = {}
        self._echoes: dict[int, asyncio.Future[None]] = {}
        self._reads = SingleFlight()
        self._refreshing: dict[int, asyncio.Task[None]] = {}
        self.fallback = DatabaseFallback(self, messages, fanout)

    def ordered(self, show_ids: list[int]) -> AbstractAsyncContextManager[None]:
        """Hold while storing and publishing messages of these shows (cross-process order)."""
        return self._bus.ordered(show_ids) if self._bus is not None else nullcontext()

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

    async def publish(self, payloads: list[Payload]) -> None:
        """Send `new_message` for each committed message (payloads in id order) to every
        member."""
        if not payloads:  # a batch of retries only: nothing new
            return
        if self._bus is None:
            await self.deliver(payloads)
            return
        if self.fallback.active:
            # Redis is away: everyone here gets these from the database, in id order.
            await self._bus.publish_messages(payloads)
            return
        loop = asyncio.get_running_loop()
        echoes = [self._echoes.setdefault(payload["id"], loop.create_future())
                  for payload in payloads]
        try:
            if not await self._bus.publish_messages(payloads):
                # Redis is down: this process's members at least get them now.
                await self.deliver(payloads)
                return
            _, pending = await asyncio.wait(echoes, timeout=ECHO_TIMEOUT)
            if pending:
                late = [payload for payload, echo in zip(payloads, echoes) if not echo.done()]
                log.warning("%d message(s) did not come back from Redis (first: %s); "
                            "delivering locally", len(late), late[0]["id"])
                await self.deliver(late)
        finally:
            for payload in payloads:
                self._echoes.pop(payload["id"], None)

    async def deliver(self, payloads: list[Payload]) -> None:
        """Deliver messages (in id order) to this process's members of their shows, once
        per id; a member gets a show's messages in one write."""
        by_show: dict[int, list[tuple[Payload, list[str] | None]]] = {}
        async with self._lock:
            for payload in payloads:
                show_id, message_id = payload["show_id"], payload["id"]
                recent = self._recent.get(show_id)
                if recent is None:
                    recent = self._recent[show_id] = _Recent()
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
                by_show.setdefault(show_id, []).append(
                    (payload, self._skip(show_id, message_id)))
            for show_id, items in by_show.items():
                metrics.MESSAGES_DELIVERED.inc(len(items))
                gathering = self._gathering.get(show_id)
                if gathering is not None:
                    gathering.extend(items)
                elif (self._crowd_window > 0 and not self._closed
                      and self._fanout.room_size(show_id) > self._crowd):
                    self._gathering[show_id] = items
                    asyncio.get_running_loop().call_later(self._crowd_window,
                                                          self._window_over, show_id)
                else:
                    await self._fanout.to_show_here("new_message", items, show_id)
        for payload in payloads:
            echo = self._echoes.get(payload["id"])
            if echo is not None and not echo.done():
                echo.set_result(None)

    def _window_over(self, show_id: int) -> None:
        task = asyncio.ensure_future(self._send_gathered_locked(show_id))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send_gathered_locked(self, show_id: int) -> None:
        try:
            async with self._lock:
                await self._send_gathered(show_id)
        except Exception:
            log.exception("delivering the gathered messages of show %s failed", show_id)

    async def _send_gathered(self, show_id: int) -> None:
        """Send the show's gathered messages now (under the lock)."""
        items = self._gathering.pop(show_id, None)
        if items:
            await self._fanout.to_show_here("new_message", items, show_id)

    async def _enter_room(self, sid: str, show_id: int) -> None:
        """Enter a joiner into the show's room (under the lock), after sending what is
        gathered for it: the joiner's history holds those messages already."""
        await self._send_gathered(show_id)
        await self._fanout.enter(sid, show_id)

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

    async def deliver_from_bus(self, payloads: list[Payload]) -> None:
        """Messages Redis handed to this process."""
        await self.deliver([payload for payload in payloads if not self.fallback.hold(payload)])

    def last_delivered(self, show_id: int) -> int | None:
        """The newest message id this process's members of the show have (None: unknown)."""
        recent = self._recent.get(show_id)
        return recent.last_id if recent else None

    async def read_history(self, show_id: int, limit: int,
                           after_id: int | None = None) -> MessagePage:
        """A show's join history from the database: the newest `limit` messages (after
        `after_id` when given). Read it inside `joining`."""
        if not limit:
            return MessagePage([], False)
        with metrics.timed(metrics.DB_SECONDS, "history"):
            return await self._messages.page(show_id, limit=limit, after_id=after_id)

    def reading(self, show_id: int) -> AbstractAsyncContextManager[bool]:
        """Around reading a show's join history to cache it: True, read it; False, another
        joiner just did (try the cache again). Joiners that missed the cache wait for that
        one read instead of each sending the same query (a storm of fans would otherwise
        exhaust the database pool)."""
        return self._reads.once(show_id) if self._history_ttl > 0 else nullcontext(True)

    async def attach_cached(self, sid: str, show_id: int, deliver: Deliver) -> bool:
        """Enter the room and `deliver` the cached join history; False when there is none.
        A history past its time is still served for a while (every delivery keeps it
        current) while one read in the background replaces it: no joiner waits for it."""
        if self._history_ttl <= 0:
            return False
        async with self._lock:
            history = self._histories.get(show_id)
            if history is None:
                return False
            age = time.monotonic() - history.loaded
            if age > self._history_ttl * STALE_FACTOR:
                return False
            if age > self._history_ttl:
                self._refresh_soon(show_id)
            self._histories.move_to_end(show_id)
            await self._enter_room(sid, show_id)
            await deliver(list(history.payloads), history.older)
        return True

    def _refresh_soon(self, show_id: int) -> None:
        if show_id in self._refreshing:
            return
        task = asyncio.create_task(self._refresh(show_id), name=f"history-{show_id}")
        self._refreshing[show_id] = task

    async def _refresh(self, show_id: int) -> None:
        """Read a show's join history again and cache it (what was delivered meanwhile is
        merged in, as for a joiner)."""
        try:
            async with self.joining(show_id) as ticket:
                page = await self.read_history(show_id, self._history_limit)
                await self._attach(ticket, None, page.messages, self._history_limit,
                                   None, 0, page.has_more)
        except Exception:
            log.warning("reading the join history of show %s again failed; the cached one "
                        "stays until it is too old", show_id, exc_info=True)
        finally:
            self._refreshing.pop(show_id, None)

    async def close(self) -> None:
        """Stop the background reads; send what is gathered, and gather nothing more."""
        self._closed = True
        await cancel_all(list(self._refreshing.values()))
        async with self._lock:
            for show_id in list(self._gathering):
                await self._send_gathered(show_id)

    def _remember_history(self, show_id: int, payloads: list[Payload], older: bool) -> None:
        self._histories[show_id] = _History(deque(payloads, maxlen=self._history_limit),
                                            older, time.monotonic())
        self._histories.move_to_end(show_id)
        while len(self._histories) > MAX_CACHED_SHOWS:
            self._histories.popitem(last=False)

    async def _attach(self, ticket: Ticket, sid: str | None, history: list[StoredMessage],
                      limit: int, deliver: Deliver | None, after_id: int, has_more: bool
                      ) -> bool:
        """Attach `sid` (None: only cache the history) under the feed's lock."""
        show_id = ticket.show_id
        async with self._lock:
            joins = self._joins[show_id]
            if joins.overflowed_at > ticket.mark:
                return False
            newest = max(history[-1].id if history else 0, after_id)
            payloads = [message_payload(message) for message in history]
            for sequence, message_id, payload in joins.delivered:
                if sequence > ticket.mark and message_id > newest:
                    payloads.append(payload)
                    newest = message_id
            if sid is None or deliver is None:  # refreshing the cache: nobody attaches
                self._remember_history(show_id, payloads[-limit:], has_more
                                       or len(payloads) > limit)
                return True
            recent = self._recent.get(show_id)
            if recent is None:
                recent = self._recent[show_id] = _Recent()
            if newest > recent.last_id:
                # Committed but not yet delivered: it is on its way to the room, and this
                # connection has it already.
                self._holding.setdefault(show_id, {})[sid] = newest
            # Where this show's deliveries stand for this process (read from on a Redis outage).
            recent.last_id = max(recent.last_id, newest)
            await self._enter_room(sid, show_id)
            kept = payloads[-limit:] if limit else []
            older = has_more or len(kept) < len(payloads)
            if not after_id and limit == self._history_limit and self._history_ttl > 0:
                self._remember_history(show_id, kept, older)
            await deliver(kept, older)
        return True

    def forget(self, sid: str, show_id: int) -> None:
        """The connection left the show."""
        holding = self._holding.get(show_id)
        if holding is not None:
            holding.pop(sid, None)
            if not holding:
                del self._holding[show_id]
