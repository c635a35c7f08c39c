"""The stream of stored messages that the push notifier works through, the interface: one
process keeps a bounded queue; several (Redis) share a stream, each message handled by one."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any

from .. import metrics

Event = dict[str, Any]
Handler = Callable[[list[Event]], Awaitable[None]]
MAX_LOCAL = 10_000
BATCH = 200


class Events(ABC):
    def __init__(self) -> None:
        self._local: asyncio.Queue[Event] = asyncio.Queue(MAX_LOCAL)

    def put(self, event: Event) -> None:
        """Called on the message path: never waits; a full queue drops (and counts)."""
        try:
            self._local.put_nowait(event)
        except asyncio.QueueFull:
            metrics.PUSHES.labels("dropped").inc()

    @abstractmethod
    async def run(self, handle: Handler) -> None:
        """Feed batches of events to `handle`, for ever."""

    async def _drain_local(self) -> list[Event]:
        batch = [await self._local.get()]
        while len(batch) < BATCH and not self._local.empty():
            batch.append(self._local.get_nowait())
        return batch
