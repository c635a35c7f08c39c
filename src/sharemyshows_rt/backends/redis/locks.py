"""Per-show publish locks in Redis: a group commit's messages reach every process in the
order they were stored, even when several processes write to the same show."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis

log = logging.getLogger(__name__)
LOCK_MS = 5000  # a lock outlives no crashed holder by more than this
LOCK_WAIT = 2.0  # seconds to wait for a show's lock before publishing without it

# All of a batch's locks at once, or none (so that nobody holds some while waiting for the
# others: two writers taking them one by one in sorted order never deadlock).
_ACQUIRE_ALL = """
for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then return 0 end
end
for _, key in ipairs(KEYS) do
  redis.call('SET', key, ARGV[1], 'PX', ARGV[2])
end
return 1
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class PublishLocks:
    """Locks by show, taken for a batch's shows at once (or one by one, in show order)."""

    def __init__(self, redis: Redis, namespace: str) -> None:
        self._redis = redis
        self._lock_prefix = f"{namespace}:order:"
        self._acquire_all = redis.register_script(_ACQUIRE_ALL)
        self._release = redis.register_script(_RELEASE)

    @asynccontextmanager
    async def ordered(self, show_ids: list[int]) -> AsyncIterator[None]:
        token = uuid.uuid4().hex
        keys = [f"{self._lock_prefix}{show_id}" for show_id in sorted(show_ids)]
        held: list[str] = []
        try:
            # All of them in one round trip when all are free; else one by one, in order.
            try:
                all_taken = await self._acquire_all(keys=keys, args=[token, LOCK_MS])
            except Exception as exc:
                # Without Redis there is no cross-process delivery to order anyway.
                log.warning("publish locks unavailable (%r); going on without them", exc)
            else:
                if all_taken:
                    held = keys
                else:
                    for key in keys:
                        if await self._acquire(key, token):
                            held.append(key)
            yield
        finally:
            if held:
                try:
                    async with self._redis.pipeline(transaction=False) as pipe:
                        for key in held:
                            await self._release(keys=[key], args=[token], client=pipe)
                        await pipe.execute()
                except Exception as exc:  # they expire by themselves
                    log.warning("could not release %d publish lock(s): %r", len(held), exc)

    async def _acquire(self, key: str, token: str) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LOCK_WAIT
        pause = 0.0005
        while True:
            try:
                if await self._redis.set(key, token, nx=True, px=LOCK_MS):
                    return True
            except Exception as exc:
                # Without Redis there is no cross-process delivery to order anyway.
                log.warning("publish lock %s unavailable (%r); going on without it", key, exc)
                return False
            if loop.time() > deadline:
                log.warning("publish lock %s still taken after %.0fs; going on", key, LOCK_WAIT)
                return False
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.01)
