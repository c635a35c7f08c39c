"""Push coalescing in this process's memory."""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Any

from ..coalesce import Coalescer, Folded, joined


@dataclass(slots=True)
class _Window:
    until: float
    pending: int = 0
    last: dict[str, Any] | None = None


class MemoryCoalescer(Coalescer):
    def __init__(self, window: float) -> None:
        self._window = window
        self._windows: dict[tuple[int, int], _Window] = {}
        self._ends: list[tuple[float, tuple[int, int]]] = []

    async def offer(
        self, user_id: int, show_id: int, count: int, last: dict[str, Any], now: float
    ) -> bool:
        key = (user_id, show_id)
        window = self._windows.get(key)
        if window is None or window.until <= now:
            if window is not None and window.pending:
                return self._fold(window, count, last)  # its fold is due: ride along
            self._windows[key] = _Window(now + self._window)
            return True
        if not window.pending:
            heapq.heappush(self._ends, (window.until, key))
        return self._fold(window, count, last)

    @staticmethod
    def _fold(window: _Window, count: int, last: dict[str, Any]) -> bool:
        window.last = joined(window.last if window.pending else None, last)
        window.pending += count
        return False

    async def due(self, now: float) -> list[Folded]:
        folded = []
        while self._ends and self._ends[0][0] <= now:
            _, key = heapq.heappop(self._ends)
            window = self._windows.get(key)
            if window is None or not window.pending or window.last is None:
                continue
            folded.append(Folded(key[0], key[1], window.pending, window.last))
            self._windows[key] = _Window(now + self._window)
        # Windows that ended with nothing folded are forgotten.
        for key in [key for key, w in self._windows.items() if w.until <= now and not w.pending]:
            del self._windows[key]
        return folded
