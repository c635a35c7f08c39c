"""The backend of a single process: everything in memory."""

from __future__ import annotations

from ..base import Backend, Swept
from .coalesce import MemoryCoalescer
from .events import MemoryEvents
from .limits import MemoryConnectionCap, MemoryRateLimiter
from .moderation import MemoryModerationChannel, MemorySlowGate
from .presence import MemoryPresence


class MemoryBackend(Backend):
    name = "memory"

    def __init__(self, *, coalesce_seconds: float) -> None:
        self.presence = MemoryPresence()
        self.limiter = MemoryRateLimiter()
        self.cap = MemoryConnectionCap()
        self.coalescer = MemoryCoalescer(coalesce_seconds)
        self.events = MemoryEvents()
        self.moderation = MemoryModerationChannel()
        self.slow_gate = MemorySlowGate()

    async def start(self, swept: Swept) -> None:
        """Nothing runs in the background: no other process can die under this one."""

    async def stop(self) -> None:
        await self.presence.close()
