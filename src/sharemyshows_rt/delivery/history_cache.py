"""The join history cache: a show's newest messages as its members were sent them, so that
a storm of joiners does not each read the same page from the database."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

from ..locks import SingleFlight
from ..tasks import cancel_all

log = logging.getLogger(__name__)
Payload = dict[str, Any]
MAX_CACHED_SHOWS = 2000  # join histories kept, least recently joined dropped first
# A join history past its time is served (and read again in the background) until this many
# times its time; older, a joiner reads it from the database itself.
STALE_FACTOR = 5


@dataclass(slots=True)
class History:
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


class HistoryCache:
    """Join histories of the shows joined lately; the feed's delivery appends to
    `histories` inline, under the feed's lock, as for every other member."""

    def __init__(self, limit: int, ttl: float, reread: Callable[[int], Awaitable[None]]) -> None:
        self._limit = limit
        self.ttl = ttl  # 0: no cache
        self._reread = reread  # reads a show's history again and remembers it
        self.histories: OrderedDict[int, History] = OrderedDict()
        self._reads = SingleFlight()
        self._refreshing: dict[int, asyncio.Task[None]] = {}

    def reading(self, show_id: int) -> AbstractAsyncContextManager[bool]:
        """Around reading a show's join history to cache it: True, read it; False, another
        joiner just did (try the cache again). Joiners that missed the cache wait for that
        one read instead of each sending the same query (a storm of fans would otherwise
        exhaust the database pool)."""
        return self._reads.once(show_id) if self.ttl > 0 else nullcontext(True)

    def servable(self, show_id: int) -> History | None:
        """The show's cached history if it may be served (under the feed's lock); one past
        its time is served while one read in the background replaces it."""
        history = self.histories.get(show_id)
        if history is None:
            return None
        age = time.monotonic() - history.loaded
        if age > self.ttl * STALE_FACTOR:
            return None
        if age > self.ttl:
            self._refresh_soon(show_id)
        self.histories.move_to_end(show_id)
        return history

    def remember(self, show_id: int, payloads: list[Payload], older: bool) -> None:
        """Cache the show's join history as just read (under the feed's lock)."""
        self.histories[show_id] = History(
            deque(payloads, maxlen=self._limit), older, time.monotonic()
        )
        self.histories.move_to_end(show_id)
        while len(self.histories) > MAX_CACHED_SHOWS:
            self.histories.popitem(last=False)

    def drop(self, show_id: int, message_ids: set[int]) -> None:
        """Leave deleted messages out of the show's cached history."""
        history = self.histories.get(show_id)
        if history is not None:
            kept = [p for p in history.payloads if p["id"] not in message_ids]
            history.payloads = deque(kept, maxlen=history.payloads.maxlen)

    def _refresh_soon(self, show_id: int) -> None:
        if show_id in self._refreshing:
            return
        task = asyncio.create_task(self._refresh(show_id), name=f"history-{show_id}")
        self._refreshing[show_id] = task

    async def _refresh(self, show_id: int) -> None:
        try:
            await self._reread(show_id)
        except Exception:
            log.warning(
                "reading the join history of show %s again failed; the cached one "
                "stays until it is too old",
                show_id,
                exc_info=True,
            )
        finally:
            self._refreshing.pop(show_id, None)

    async def close(self) -> None:
        """Stop the background reads."""
        await cancel_all(list(self._refreshing.values()))
