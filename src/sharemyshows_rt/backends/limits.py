"""What the chat rules need from a limiter, wherever the counts live."""

from __future__ import annotations

from abc import ABC, abstractmethod

Bucket = tuple[str, float, int]  # key, rate (tokens a second), burst


class RateLimiter(ABC):
    """Token buckets by key: `rate` tokens a second, at most `burst` saved up."""

    @abstractmethod
    async def take(self, key: str, rate: float, burst: int) -> float:
        """Take one token: 0.0 when there was one, else the seconds until there is."""

    @abstractmethod
    async def take_all(self, buckets: list[Bucket]) -> float:
        """Take one token of each bucket, or none: 0.0 when each had one, else the seconds
        until all of them have."""

    @abstractmethod
    async def give_back(self, buckets: list[Bucket]) -> None:
        """Return the token taken from each bucket (the request turned out to cost nothing)."""

    async def close(self) -> None:
        """Release whatever the implementation holds."""


class ConnectionCap(ABC):
    """Counts each user's open connections, to refuse one past the cap."""

    @abstractmethod
    async def acquire(self, user_id: int, sid: str, cap: int) -> bool:
        """Count this connection for the user; False (and not counted) past the cap."""

    @abstractmethod
    async def release(self, user_id: int, sid: str) -> None:
        """The connection closed."""
