"""Limits kept in this process."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from ..limits import Bucket, ConnectionCap, RateLimiter

MAX_BUCKETS = 100_000  # past this, buckets that have refilled are forgotten


@dataclass(slots=True)
class TokenBucket:
    """`rate` tokens a second, at most `burst`; starts full."""

    rate: float
    burst: float
    tokens: float
    updated: float

    @classmethod
    def full(cls, rate: float, burst: float, now: float) -> TokenBucket:
        return cls(rate, burst, burst, now)

    def take(self, now: float) -> float:
        """Take one token: 0.0 when there was one, else the seconds until there is."""
        wait = self.refill(now)
        if not wait:
            self.tokens -= 1.0
        return wait

    def refill(self, now: float) -> float:
        """Bring the tokens up to `now`; the seconds until there is one (0.0: there is)."""
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate

    def refilled(self, now: float) -> bool:
        return self.tokens + (now - self.updated) * self.rate >= self.burst


class MemoryRateLimiter(RateLimiter):
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}

    async def take(self, key: str, rate: float, burst: int) -> float:
        now = self._clock()
        return self._bucket(key, rate, burst, now).take(now)

    async def take_all(self, buckets: list[Bucket]) -> float:
        now = self._clock()
        found = [self._bucket(key, rate, burst, now) for key, rate, burst in buckets]
        wait = max(bucket.refill(now) for bucket in found)
        if not wait:
            for bucket in found:
                bucket.tokens -= 1.0
        return wait

    async def give_back(self, buckets: list[Bucket]) -> None:
        now = self._clock()
        for key, rate, burst in buckets:
            bucket = self._bucket(key, rate, burst, now)
            bucket.refill(now)
            bucket.tokens = min(bucket.burst, bucket.tokens + 1.0)

    def _bucket(self, key: str, rate: float, burst: int, now: float) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= MAX_BUCKETS:
                self._forget_refilled(now)
            bucket = self._buckets[key] = TokenBucket.full(rate, burst, now)
        return bucket

    def _forget_refilled(self, now: float) -> None:
        # A full bucket is the same as no bucket.
        self._buckets = {key: b for key, b in self._buckets.items() if not b.refilled(now)}


class MemoryConnectionCap(ConnectionCap):
    def __init__(self) -> None:
        self._sids: dict[int, set[str]] = {}

    async def acquire(self, user_id: int, sid: str, cap: int) -> bool:
        sids = self._sids.setdefault(user_id, set())
        if len(sids) >= cap:
            if not sids:
                del self._sids[user_id]
            return False
        sids.add(sid)
        return True

    async def release(self, user_id: int, sid: str) -> None:
        sids = self._sids.get(user_id)
        if sids is not None:
            sids.discard(sid)
            if not sids:
                del self._sids[user_id]
