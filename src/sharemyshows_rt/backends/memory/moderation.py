"""Moderation in one process: nothing to tell, the slow-mode windows in a dictionary."""

from __future__ import annotations

import time

from ..moderation import Apply, Change, ModerationChannel, SlowGate

MAX_WINDOWS = 200_000  # beyond: the expired ones are dropped


class MemoryModerationChannel(ModerationChannel):
    async def publish(self, change: Change) -> None:
        """No other process: the publisher has applied the change already."""

    async def start(self, apply: Apply) -> None:
        """Nothing to listen to."""


class MemorySlowGate(SlowGate):
    def __init__(self) -> None:
        self._ends: dict[str, float] = {}

    async def claim(self, key: str, seconds: float) -> float:
        now = time.monotonic()
        end = self._ends.get(key, 0.0)
        if end > now:
            return end - now
        if len(self._ends) >= MAX_WINDOWS:
            self._ends = {k: v for k, v in self._ends.items() if v > now}
        self._ends[key] = now + seconds
        return 0.0

    async def seed(self, key: str, remaining: float) -> None:
        now = time.monotonic()
        if self._ends.get(key, 0.0) <= now:
            self._ends[key] = now + remaining

    async def release(self, key: str) -> None:
        self._ends.pop(key, None)
