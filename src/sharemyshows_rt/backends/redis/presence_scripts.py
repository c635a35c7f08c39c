"""The Lua scripts RedisPresence runs: each change of a show's presence is one atomic script."""

# Per show: `sids` (hash sid -> user), `order` (zset user -> first arrival), `names` (hash
# user -> username), `tab:<user>` (set of that user's sids); per process: `entries`.

# KEYS: sids, order, names, entries. ARGV: sid, user_id, username, entry, now, show base.
# Idempotent: the same sid joining again changes nothing. Returns 1 on the user's first tab.
JOIN = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[4], ARGV[4])
local tabs = ARGV[6] .. ':tab:' .. ARGV[2]
redis.call('SADD', tabs, ARGV[1])
if redis.call('SCARD', tabs) == 1 then
  redis.call('ZADD', KEYS[2], ARGV[5], ARGV[2])
  redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
  return 1
end
return 0
"""

# KEYS as for join. ARGV: sid, entry, show base. Returns {user_id, username, last} or nil.
LEAVE = """
local user = redis.call('HGET', KEYS[1], ARGV[1])
if not user then return nil end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[4], ARGV[2])
local tabs = ARGV[3] .. ':tab:' .. user
redis.call('SREM', tabs, ARGV[1])
local name = redis.call('HGET', KEYS[3], user) or ''
if redis.call('SCARD', tabs) == 0 then
  redis.call('ZREM', KEYS[2], user)
  redis.call('HDEL', KEYS[3], user)
  return {user, name, 1}
end
return {user, name, 0}
"""

# KEYS: order, names. ARGV: offset, limit, show base. Returns {total, user, name, sid, ...}.
# A limit of 0 is the count alone (ZRANGE's stop would be -1: the whole room, on every join).
PAGE = """
local result = {redis.call('ZCARD', KEYS[1])}
if tonumber(ARGV[2]) <= 0 then return result end
local users = redis.call(
  'ZRANGE', KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[1]) + tonumber(ARGV[2]) - 1)
for _, user in ipairs(users) do
  local sids = redis.call('SMEMBERS', ARGV[3] .. ':tab:' .. user)
  table.sort(sids)
  table.insert(result, user)
  table.insert(result, redis.call('HGET', KEYS[2], user) or '')
  table.insert(result, sids[1] or '')
end
return result
"""
