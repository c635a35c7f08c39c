"""The backend seam: presence, limits, the connection cap, the bus's publish locks and push's
coalescer and events, opened once from the settings, in this process's memory or in Redis
(like broadcaster's `Broadcast(url)`). Nothing else chooses between the two."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from .coalesce import Coalescer
from .events import Events
from .limits import ConnectionCap, RateLimiter
from .presence import Departure, Presence

if TYPE_CHECKING:
    from ..config import Settings

Swept = Callable[[list[Departure]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Broker:
    """Where the Socket.IO client manager publishes to the other processes."""

    url: str
    channel: str


class PublishLocks(Protocol):
    def ordered(self, show_ids: list[int]) -> AbstractAsyncContextManager[None]:
        """Hold the shows' publish locks while a batch is stored and published."""


class Backend(ABC):
    """What the service shares between its processes (or keeps, when alone)."""

    name: str
    presence: Presence
    limiter: RateLimiter
    cap: ConnectionCap
    coalescer: Coalescer
    events: Events
    broker: Broker | None = None  # None: Socket.IO broadcasts stay in this process
    locks: PublishLocks | None = None  # None: nobody else publishes, nothing to order

    @abstractmethod
    async def start(self, swept: Swept) -> None:
        """Start the background work; `swept` hears of the departures of dead processes."""

    @abstractmethod
    async def stop(self) -> None:
        """Stop the background work and release what the backend holds."""

    def checks(self) -> dict[str, Callable[[], Awaitable[None]]]:
        """What /readyz asks of the backend, by name: each raises when it cannot answer."""
        return {}


def open_backend(settings: Settings) -> Backend:
    """The backend the settings ask for: Redis when REDIS_URL is set, else memory."""
    if settings.redis_url:
        from .redis.backend import RedisBackend

        return RedisBackend(settings.redis_url, settings.redis_namespace,
                            coalesce_seconds=settings.push_coalesce_seconds)
    from .memory.backend import MemoryBackend

    return MemoryBackend(coalesce_seconds=settings.push_coalesce_seconds)
