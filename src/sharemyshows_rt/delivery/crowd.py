"""The crowd window (MESSAGE_COALESCE_MS): in a show with more than `size` members here, the
messages of a window go out together, so that each member's write (a system call) carries
all of them."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from .rooms import Fanout

log = logging.getLogger(__name__)
Payload = dict[str, Any]
Items = list[tuple[Payload, list[str] | None]]  # a message, and the members to skip


class CrowdWindow:
    """Messages gathered per show until their window is over; the feed's delivery reads
    `gathering`, `window`, `closed` and `size` inline (they decide per show and batch)."""

    def __init__(self, fanout: Fanout, lock: asyncio.Lock, *, size: int, window: float) -> None:
        self._fanout = fanout
        self._lock = lock  # the feed's: windows end in delivery order
        self.size = size
        self.window = window
        self.closed = False
        self.gathering: dict[int, Items] = {}
        self._sending: set[asyncio.Task[None]] = set()  # held until done

    def open(self, show_id: int, items: Items) -> None:
        """Gather the show's messages, starting with these, until the window is over."""
        self.gathering[show_id] = items
        asyncio.get_running_loop().call_later(self.window, self._window_over, show_id)

    def _window_over(self, show_id: int) -> None:
        task = asyncio.ensure_future(self._send_locked(show_id))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send_locked(self, show_id: int) -> None:
        try:
            async with self._lock:
                await self.send(show_id)
        except Exception:
            log.exception("delivering the gathered messages of show %s failed", show_id)

    async def send(self, show_id: int) -> None:
        """Send the show's gathered messages now (under the feed's lock)."""
        items = self.gathering.pop(show_id, None)
        if items:
            await self._fanout.to_show_here("new_message", items, show_id)

    def close(self) -> None:
        """Gather nothing more."""
        self.closed = True

    async def send_all(self) -> None:
        """Send what is gathered (under the feed's lock)."""
        for show_id in list(self.gathering):
            await self.send(show_id)
