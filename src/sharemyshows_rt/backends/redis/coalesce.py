"""Push coalescing in Redis: each fold is claimed, and sent, by one process."""

from __future__ import annotations

from typing import Any

import orjson
from redis.asyncio import Redis

from ..coalesce import MAX_FOLDED_IDS, Coalescer, Folded

# KEYS: window hash, due zset. ARGV: now, window, count, last json, member, ttl ms, most ids.
_OFFER = """
local now = tonumber(ARGV[1])
local untilv = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
local pending = tonumber(redis.call('HGET', KEYS[1], 'pending') or '0')
if untilv <= now and pending == 0 then
  redis.call('HSET', KEYS[1], 'until', tostring(now + tonumber(ARGV[2])), 'pending', '0')
  redis.call('PEXPIRE', KEYS[1], ARGV[6])
  return 1
end
local last = ARGV[4]
local earlier = redis.call('HGET', KEYS[1], 'last')
if pending > 0 and earlier then
  local e, n = cjson.decode(earlier), cjson.decode(last)
  if type(e.ids) == 'table' and type(n.ids) == 'table' then
    for _, id in ipairs(n.ids) do table.insert(e.ids, id) end
    while #e.ids > tonumber(ARGV[7]) do table.remove(e.ids, 1) end
    n.ids = e.ids
    last = cjson.encode(n)
  end
end
redis.call('HSET', KEYS[1], 'pending', tostring(pending + tonumber(ARGV[3])), 'last', last)
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('ZADD', KEYS[2], 'NX', tostring(untilv), ARGV[5])
return 0
"""

# KEYS: due zset. ARGV: now, window, prefix, ttl ms. Returns {member, pending, last, ...}.
_DUE = """
local now = tonumber(ARGV[1])
local result = {}
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 200)) do
  redis.call('ZREM', KEYS[1], member)
  local key = ARGV[3] .. member
  local pending = tonumber(redis.call('HGET', key, 'pending') or '0')
  if pending > 0 then
    table.insert(result, member)
    table.insert(result, tostring(pending))
    table.insert(result, redis.call('HGET', key, 'last') or '{}')
    redis.call('HSET', key, 'until', tostring(now + tonumber(ARGV[2])), 'pending', '0')
    redis.call('PEXPIRE', key, ARGV[4])
  end
end
return result
"""


class RedisCoalescer(Coalescer):
    def __init__(self, redis: Redis, namespace: str, window: float) -> None:
        self._window = window
        self._prefix = f"{namespace}:push:window:"
        self._due_key = f"{namespace}:push:due"
        self._ttl_ms = int(window * 3 * 1000) + 1000
        self._offer = redis.register_script(_OFFER)
        self._due = redis.register_script(_DUE)

    async def offer(
        self, user_id: int, show_id: int, count: int, last: dict[str, Any], now: float
    ) -> bool:
        member = f"{user_id}:{show_id}"
        send = await self._offer(
            keys=[self._prefix + member, self._due_key],
            args=[
                now,
                self._window,
                count,
                orjson.dumps(last),
                member,
                self._ttl_ms,
                MAX_FOLDED_IDS,
            ],
        )
        return bool(send)

    async def due(self, now: float) -> list[Folded]:
        rows = await self._due(
            keys=[self._due_key], args=[now, self._window, self._prefix, self._ttl_ms]
        )
        rows = [row.decode() if isinstance(row, bytes) else row for row in rows]
        folded = []
        for i in range(0, len(rows), 3):
            user, _, show = rows[i].partition(":")
            folded.append(Folded(int(user), int(show), int(rows[i + 1]), orjson.loads(rows[i + 2])))
        return folded
