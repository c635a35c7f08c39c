"""Several processes as one service, through Redis: python-socketio's Redis client manager
(JSON on the wire) for every broadcast, plus ordered delivery of chat messages and per-show
publish locks."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import socketio
from redis.asyncio import Redis

from .broadcast import FastBroadcast

if TYPE_CHECKING:
    from ..delivery.feed import ShowFeed

log = logging.getLogger(__name__)
# Published chat messages carry this host id, so that every process, the publisher too,
# takes them from Redis (python-socketio skips messages bearing its own host id).
FEED_HOST = "feed"
# A group commit's messages travel as one Redis message: this event, addressed to a room
# nobody is in (a process that does not know the event emits it to no one).
BATCH_EVENT = "new_messages"
BATCH_ROOM = "feed:batch"
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


class ChatRedisManager(socketio.AsyncRedisManager, FastBroadcast):
    """The Redis client manager, handing chat messages to the feed and telling the service
    when its subscription came back after Redis was away."""

    feed: ShowFeed | None = None
    on_resubscribed: Callable[[], Awaitable[None]] | None = None
    on_lost: Callable[[], None] | None = None

    async def _handle_emit(self, message: dict[str, Any]) -> None:
        if message.get("host_id") == FEED_HOST and self.feed is not None:
            event = message.get("event")
            if event == BATCH_EVENT:
                await self.feed.deliver_from_bus(message["data"][0])
                return
            if event == "new_message":  # one message, as published before batches
                await self.feed.deliver_from_bus([message["data"][0]])
                return
        await super()._handle_emit(message)

    async def publish_raw(self, message: dict[str, Any]) -> bool:
        """Publish to every process; False when Redis could not be reached."""
        return await self._publish(message) is not None

    async def _redis_listen_with_retries(self) -> AsyncIterator[Any]:  # type: ignore[override]
        # python-socketio's loop, plus a callback once a lost subscription is back.
        retry_sleep = 1.0
        subscribed = False
        lost = False
        while True:
            try:
                if not subscribed:
                    self._redis_connect()
                    await self.pubsub.subscribe(self.channel)
                    subscribed = True
                    retry_sleep = 1.0
                    if lost:
                        lost = False
                        log.warning("Redis subscription restored")
                        if self.on_resubscribed is not None:
                            self.server.start_background_task(self.on_resubscribed)
                async for message in self.pubsub.listen():
                    yield message
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error("Redis subscription lost (%r); retrying in %.0fs", exc, retry_sleep)
                subscribed = False
                lost = True
                if self.on_lost is not None:
                    self.on_lost()
                await asyncio.sleep(retry_sleep)
                retry_sleep = min(retry_sleep * 2, 5.0)


class RedisBus:
    """Publishes chat messages through the manager and holds per-show publish locks."""

    def __init__(self, manager: ChatRedisManager, redis: Redis, namespace: str) -> None:
        self._manager = manager
        self._redis = redis
        self._lock_prefix = f"{namespace}:order:"
        self._acquire_all = redis.register_script(_ACQUIRE_ALL)
        self._release = redis.register_script(_RELEASE)

    async def publish_messages(self, payloads: list[dict[str, Any]]) -> bool:
        """Publish stored messages (in id order) to every process, in one Redis message."""
        return await self._manager.publish_raw({
            "method": "emit", "event": BATCH_EVENT, "data": [payloads], "binary": False,
            "namespace": "/", "room": BATCH_ROOM, "skip_sid": None, "callback": None,
            "host_id": FEED_HOST})

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
