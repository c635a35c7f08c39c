"""The backend seam: presence, limits, the connection cap, the bus's publish locks and push's
coalescer and events, opened once from the settings, in this process's memory or in Redis
(like broadcaster's `Broadcast(url)`): `open_backend` in this package's __init__ is the
one place that chooses between the two."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

from .coalesce import Coalescer
from .events import Events
from .limits import ConnectionCap, RateLimiter
from .moderation import ModerationChannel, SlowGate
from .presence import Departure, Presence

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
    moderation: ModerationChannel
    slow_gate: SlowGate
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
