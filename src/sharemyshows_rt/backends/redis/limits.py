"""Limits counted in Redis, so that they hold however many processes serve a user."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ... import metrics
from ..limits import Bucket, ConnectionCap, RateLimiter
from ..memory.limits import MemoryConnectionCap, MemoryRateLimiter
from .outage import LocalWhileDown

log = logging.getLogger(__name__)


# KEYS: buckets. ARGV: now (s), then rate and burst of each bucket. One token of each is
# taken, or none: returns 0 (taken) or the seconds until every bucket has one, as a string
# (Lua numbers are truncated to integers on the way back).
_TAKE_ALL = """
local now = tonumber(ARGV[1])
local tokens = {}
local wait = 0
for i, key in ipairs(KEYS) do
  local rate = tonumber(ARGV[2 * i])
  local burst = tonumber(ARGV[2 * i + 1])
  local state = redis.call('HMGET', key, 'tokens', 'at')
  local held = tonumber(state[1]) or burst
  local at = tonumber(state[2]) or now
  held = math.min(burst, held + math.max(0, now - at) * rate)
  if held < 1 then wait = math.max(wait, (1 - held) / rate) end
  tokens[i] = held
end
for i, key in ipairs(KEYS) do
  local rate = tonumber(ARGV[2 * i])
  local burst = tonumber(ARGV[2 * i + 1])
  if wait == 0 then tokens[i] = tokens[i] - 1 end
  redis.call('HSET', key, 'tokens', tostring(tokens[i]), 'at', tostring(now))
  redis.call('PEXPIRE', key, math.ceil(burst / rate * 1000) + 1000)
end
return tostring(wait)
"""

# KEYS: buckets. ARGV: as _TAKE_ALL's. A token goes back to each (never past its burst).
_GIVE_BACK = """
local now = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  local rate = tonumber(ARGV[2 * i])
  local burst = tonumber(ARGV[2 * i + 1])
  local state = redis.call('HMGET', key, 'tokens', 'at')
  if state[1] then
    local held = tonumber(state[1])
    local at = tonumber(state[2]) or now
    held = math.min(burst, held + math.max(0, now - at) * rate + 1)
    redis.call('HSET', key, 'tokens', tostring(held), 'at', tostring(now))
  end
end
return 0
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


class RedisRateLimiter(LocalWhileDown, RateLimiter):
    """Buckets in Redis; while Redis is unreachable, this process's own buckets stand in
    (the chat goes on; limits hold per process until Redis is back)."""

    kept_here = "rate limits"

    def __init__(
        self, redis: Redis, namespace: str, clock: Callable[[], float] = time.time
    ) -> None:
        self._clock = clock  # wall-clock seconds: every process reads the same buckets
        self._take_all = redis.register_script(_TAKE_ALL)
        self._give_back = redis.register_script(_GIVE_BACK)
        self._prefix = f"{namespace}:limits"
        self._fallback = MemoryRateLimiter()

    async def take(self, key: str, rate: float, burst: int) -> float:
        return await self.take_all([(key, rate, burst)])

    async def take_all(self, buckets: list[Bucket]) -> float:
        keys, args = self._script_arguments(buckets)
        try:
            with metrics.timed(metrics.REDIS_SECONDS, "rate_limit"):
                wait = await self._take_all(keys=keys, args=args)
        except RedisError as exc:
            self._carry_on_locally(exc)
            return await self._fallback.take_all(buckets)
        return float(wait)

    async def give_back(self, buckets: list[Bucket]) -> None:
        keys, args = self._script_arguments(buckets)
        try:
            await self._give_back(keys=keys, args=args)
        except RedisError as exc:
            self._carry_on_locally(exc)
            await self._fallback.give_back(buckets)

    def _script_arguments(self, buckets: list[Bucket]) -> tuple[list[str], list[float]]:
        args: list[float] = [self._clock()]
        for _, rate, burst in buckets:
            args += [rate, burst]
        return [f"{self._prefix}:bucket:{key}" for key, _, _ in buckets], args


class RedisConnectionCap(LocalWhileDown, ConnectionCap):
    """Each connection holds a leased slot; `renew` (called by the heartbeat) keeps the
    slots of live connections, and a survivor releases those of a process that died."""

    kept_here = "connection cap"

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
            ok = await self._acquire(
                keys=[f"{self._prefix}:conns:{user_id}", self._leases],
                args=[sid, cap, now, now + LEASE_SECONDS, f"{user_id}:{sid}"],
            )
        except RedisError as exc:
            # Counted here until Redis is back; `renew` then records the slot there too.
            self._carry_on_locally(exc)
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
