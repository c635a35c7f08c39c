"""The Redis side of a multi-process deployment, built and run in one place: the Socket.IO
client manager, presence, limits, the message bus, and the loops that keep them healthy."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from redis.asyncio import BlockingConnectionPool, Redis

from .limits import RedisConnectionCap, RedisRateLimiter
from .presence import RedisPresence
from ...transport.redis_manager import ChatRedisManager, RedisBus
from ...tasks import cancel
from ...transport.wire import OrjsonPacket

if TYPE_CHECKING:
    from ...chat.service import ChatService
    from ...transport.fanout import Fanout
    from ...delivery.feed import ShowFeed
    from ...transport.namespace import ChatServer

log = logging.getLogger(__name__)
LEASE_RENEW_SECONDS = 30.0
# Redis connections per process, and how long a command waits for one. A command finding
# every connection busy waits its turn (a blocking pool): refused at once, as by redis-py's
# default pool (MaxConnectionsError), presence would take it for Redis being down.
POOL_SIZE = 100
POOL_WAIT_SECONDS = 5.0


class Cluster:
    """`namespace` prefixes every key and names the channel: deployments sharing one Redis
    stay apart."""

    def __init__(self, url: str, namespace: str) -> None:
        self.namespace = namespace
        self.redis = Redis.from_pool(BlockingConnectionPool.from_url(
            url, max_connections=POOL_SIZE, timeout=POOL_WAIT_SECONDS,
            socket_connect_timeout=2, socket_timeout=5, health_check_interval=10))
        self.manager = ChatRedisManager(url, channel=f"{namespace}:socketio", json=OrjsonPacket.json,
                                        redis_options={"socket_connect_timeout": 2,
                                                       "health_check_interval": 10})
        self.presence = RedisPresence(self.redis, namespace)
        self.limiter = RedisRateLimiter(self.redis, namespace)
        self.cap = RedisConnectionCap(self.redis, namespace, self.presence.proc)
        self.presence.on_dead_process = self.cap.release_process
        self.bus = RedisBus(self.manager, self.redis, namespace)
        self._renewal: asyncio.Task[None] | None = None

    def connect(self, chat: ChatService, feed: ShowFeed, fanout: Fanout) -> None:
        """Hand the pieces that react to other processes to the service."""
        self.manager.feed = feed
        self.presence.on_swept = chat.swept

        async def caught_up() -> None:
            try:
                await feed.fallback.back()
            except Exception:
                log.exception("catching up after the Redis outage failed")

        self.manager.on_resubscribed = caught_up
        self.manager.on_lost = feed.fallback.lost

    async def start(self, sio: ChatServer) -> None:
        """Subscribe now (not at the first connection) and start heartbeating."""
        if not sio.manager_initialized:
            sio.manager_initialized = True
            sio.manager.initialize()
        try:
            await self.presence.start()
        except Exception as exc:
            # Serve anyway: the heartbeat retries, and /readyz says Redis is missing.
            log.error("Redis is not answering at start-up: %r", exc)
            self.presence.start_heartbeat()
        self._renewal = asyncio.create_task(self._renew(), name="connection-leases")

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(LEASE_RENEW_SECONDS)
            try:
                await self.cap.renew()
            except Exception as exc:
                log.warning("renewing connection leases failed: %r", exc)

    async def ping(self) -> None:
        await self.redis.ping()

    async def stop(self) -> None:
        await cancel(self._renewal)
        await self.presence.close()
        await self.redis.aclose()
