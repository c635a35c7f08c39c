"""Rate limits and connection caps: one small interface, in memory or in Redis."""

from .base import Bucket, ConnectionCap, RateLimiter
from .memory import MemoryConnectionCap, MemoryRateLimiter, TokenBucket

__all__ = ["Bucket", "ConnectionCap", "MemoryConnectionCap", "MemoryRateLimiter", "RateLimiter",
           "TokenBucket"]
