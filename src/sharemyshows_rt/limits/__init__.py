"""Rate limits and connection caps: one small interface, in memory or in Redis."""

from .base import ConnectionCap, RateLimiter
from .memory import MemoryConnectionCap, MemoryRateLimiter, TokenBucket

__all__ = ["ConnectionCap", "MemoryConnectionCap", "MemoryRateLimiter", "RateLimiter",
           "TokenBucket"]
