"""Several processes as one service, through Redis: python-socketio's Redis client manager
(JSON on the wire) for every broadcast, and the bus that publishes chat messages in order
under the backend's per-show publish locks (backends/redis/locks.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

import socketio

from .broadcast import FastBroadcast

if TYPE_CHECKING:
    from ..backends.redis.locks import PublishLocks
    from ..delivery.feed import ShowFeed

log = logging.getLogger(__name__)
# Published chat messages carry this host id, so that every process, the publisher too,
# takes them from Redis (python-socketio skips messages bearing its own host id).
FEED_HOST = "feed"
# A group commit's messages travel as one Redis message: this event, addressed to a room
# nobody is in (a process that does not know the event emits it to no one).
BATCH_EVENT = "new_messages"
BATCH_ROOM = "feed:batch"


class ChatRedisManager(socketio.AsyncRedisManager, FastBroadcast):
    """The Redis client manager, handing chat messages to the feed and telling the feed's
    database fallback when its subscription was lost and when it came back."""

    feed: ShowFeed | None = None

    def bind(self, feed: ShowFeed) -> None:
        """The feed that takes the chat messages published by every process."""
        self.feed = feed

    async def _caught_up(self) -> None:
        try:
            if self.feed is not None:
                await self.feed.fallback.back()
        except Exception:
            log.exception("catching up after the Redis outage failed")

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
                        self.server.start_background_task(self._caught_up)
                async for message in self.pubsub.listen():
                    yield message
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error("Redis subscription lost (%r); retrying in %.0fs", exc, retry_sleep)
                subscribed = False
                lost = True
                if self.feed is not None:
                    self.feed.fallback.lost()
                await asyncio.sleep(retry_sleep)
                retry_sleep = min(retry_sleep * 2, 5.0)


class RedisBus:
    """Publishes chat messages through the manager, in order under the backend's per-show
    publish locks."""

    def __init__(self, manager: ChatRedisManager, locks: PublishLocks) -> None:
        self._manager = manager
        self._locks = locks

    async def publish_messages(self, payloads: list[dict[str, Any]]) -> bool:
        """Publish stored messages (in id order) to every process, in one Redis message."""
        return await self._manager.publish_raw(
            {
                "method": "emit",
                "event": BATCH_EVENT,
                "data": [payloads],
                "binary": False,
                "namespace": "/",
                "room": BATCH_ROOM,
                "skip_sid": None,
                "callback": None,
                "host_id": FEED_HOST,
            }
        )

    def ordered(self, show_ids: list[int]) -> AbstractAsyncContextManager[None]:
        return self._locks.ordered(show_ids)
