"""Limits counted in Redis, so that they hold however many processes serve a user."""

from __future__ import annotations

import logging
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

from .. import metrics
from ..logs import now_and_then
from .base import ConnectionCap, RateLimiter
from .memory import MemoryConnectionCap, MemoryRateLimiter

log = logging.getLogger(__name__)


# KEYS: bucket. ARGV: rate, burst, now (s). Returns 0 (taken) or the seconds to wait, as
# a string (Lua numbers are truncated to integers on the way back).
_TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return tostring(wait)
"""

# KEYS: the user's connections (zset sid -> expiry), this process's leases (set of
# "user:sid"). ARGV: sid, cap, now, expiry, "user:sid". Expired entries (of a process that
# died while Redis could not tell) are dropped; a dead process's leases are released sooner
# by the survivor that notices it (`release_process`).
_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 1 end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[1])
redis.call('PEXPIREAT', KEYS[1], math.floor(tonumber(ARGV[4]) * 1000))
redis.call('SADD', KEYS[2], ARGV[5])
redis.call('PEXPIREAT', KEYS[2], math.floor(tonumber(ARGV[4]) * 1000))
return 1
"""

LEASE_SECONDS = 120.0  # a connection's slot lives this long unless renewed


class RedisRateLimiter(RateLimiter):
    """Buckets in Redis; while Redis is unreachable, this process's own buckets stand in
    (the chat goes on; limits hold per process until Redis is back)."""

    def __init__(self, redis: Redis, namespace: str) -> None:
        self._take = redis.register_script(_TAKE)
        self._prefix = f"{namespace}:limits"
        self._fallback = MemoryRateLimiter()

    async def take(self, key: str, rate: float, burst: int) -> float:
        try:
            with metrics.timed(metrics.REDIS_SECONDS, "rate_limit"):
                wait = await self._take(keys=[f"{self._prefix}:bucket:{key}"],
                                        args=[rate, burst, time.time()])
        except RedisError as exc:
            now_and_then(log, "limits", "rate limits counted in this process: Redis unreachable (%r)",
                         exc)
            return await self._fallback.take(key, rate, burst)
        return float(wait)


class RedisConnectionCap(ConnectionCap):
    """Each connection holds a leased slot; `renew` (called by the heartbeat) keeps the
    slots of live connections, and a survivor releases those of a process that died."""

    def __init__(self, redis: Redis, namespace: str, proc: str) -> None:
        self._redis = redis
        self._prefix = f"{namespace}:limits"
        self._leases = self._leases_of(proc)
        self._acquire = redis.register_script(_ACQUIRE)
        self._held: dict[str, int] = {}  # sid -> user
        self._fallback = MemoryConnectionCap()

    def _leases_of(self, proc: str) -> str:
        return f"{self._prefix}:proc:{proc}:conns"

    async def acquire(self, user_id: int, sid: str, cap: int) -> bool:
        now = time.time()
        try:
            ok = await self._acquire(keys=[f"{self._prefix}:conns:{user_id}", self._leases],
                                     args=[sid, cap, now, now + LEASE_SECONDS, f"{user_id}:{sid}"])
        except RedisError as exc:
            # Counted here until Redis is back; `renew` then records the slot there too.
            now_and_then(log, "cap", "connection cap counted in this process: Redis unreachable "
                         "(%r)", exc)
            ok = await self._fallback.acquire(user_id, sid, cap)
        if ok:
            self._held[sid] = user_id
        return bool(ok)

    async def release(self, user_id: int, sid: str) -> None:
        self._held.pop(sid, None)
        await self._fallback.release(user_id, sid)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.zrem(f"{self._prefix}:conns:{user_id}", sid)
                pipe.srem(self._leases, f"{user_id}:{sid}")
                await pipe.execute()
        except RedisError as exc:  # the lease expires by itself
            log.warning("connection slot of %s stays in Redis until it expires: %r", sid, exc)

    async def renew(self) -> None:
        """Extend the lease of every connection this process holds."""
        expiry = time.time() + LEASE_SECONDS
        async with self._redis.pipeline(transaction=False) as pipe:
            for sid, user_id in self._held.items():
                pipe.zadd(f"{self._prefix}:conns:{user_id}", {sid: expiry})
                pipe.pexpireat(f"{self._prefix}:conns:{user_id}", int(expiry * 1000))
                pipe.sadd(self._leases, f"{user_id}:{sid}")
            pipe.pexpireat(self._leases, int(expiry * 1000))
            await pipe.execute()

    async def release_process(self, proc: str) -> int:
        """Free the slots of the dead process `proc` (its tabs reconnect elsewhere at once);
        how many there were."""
        leases = self._leases_of(proc)
        held = await self._redis.smembers(leases)
        async with self._redis.pipeline(transaction=False) as pipe:
            for lease in held:
                lease = lease.decode() if isinstance(lease, bytes) else lease
                user_id, _, sid = lease.partition(":")
                pipe.zrem(f"{self._prefix}:conns:{user_id}", sid)
            pipe.delete(leases)
            await pipe.execute()
        log.warning("released %d connection slot(s) of dead process %s", len(held), proc)
        return len(held)
