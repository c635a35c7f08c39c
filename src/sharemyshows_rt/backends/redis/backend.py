"""The backend of a multi-process deployment, in Redis: presence, limits, the connection
cap, publish locks, push's coalescer and events, and the loops that keep them healthy."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable

from redis.asyncio import BlockingConnectionPool, Redis

from ...tasks import cancel
from ..base import Backend, Broker, Swept
from .coalesce import RedisCoalescer
from .events import RedisEvents
from .limits import RedisConnectionCap, RedisRateLimiter
from .locks import PublishLocks
from .moderation import RedisModerationChannel, RedisSlowGate
from .presence import RedisPresence

log = logging.getLogger(__name__)
LEASE_RENEW_SECONDS = 30.0
# Redis connections per process, and how long a command waits for one. redis-py's default
# pool refuses the 101st concurrent command at once (MaxConnectionsError), and presence
# would then fall back to this process's own view as if Redis were down: a blocking pool
# makes them wait their turn.
POOL_SIZE = 100
POOL_WAIT_SECONDS = 5.0


class RedisBackend(Backend):
    """`namespace` prefixes every key and names the channel: deployments sharing one Redis
    stay apart."""

    name = "redis"

    def __init__(self, url: str, namespace: str, *, coalesce_seconds: float = 60.0) -> None:
        self.namespace = namespace
        self.redis = Redis.from_pool(
            BlockingConnectionPool.from_url(
                url,
                max_connections=POOL_SIZE,
                timeout=POOL_WAIT_SECONDS,
                socket_connect_timeout=2,
                socket_timeout=5,
                health_check_interval=10,
            )
        )
        self.broker = Broker(url, f"{namespace}:socketio")
        proc = uuid.uuid4().hex
        self.limiter = RedisRateLimiter(self.redis, namespace)
        self.cap = RedisConnectionCap(self.redis, namespace, proc)
        self.presence = RedisPresence(
            self.redis, namespace, proc=proc, on_dead_process=self.cap.release_process
        )
        self.locks = PublishLocks(self.redis, namespace)
        self.coalescer = RedisCoalescer(self.redis, namespace, coalesce_seconds)
        self.events = RedisEvents(self.redis, namespace, proc)
        self.moderation = RedisModerationChannel(self.redis, namespace, proc)
        self.slow_gate = RedisSlowGate(self.redis, namespace)
        self._renewal: asyncio.Task[None] | None = None

    async def start(self, swept: Swept) -> None:
        """Announce this process and start heartbeating."""
        try:
            await self.presence.start(swept)
        except Exception as exc:
            # Serve anyway: the heartbeat retries, and /readyz says Redis is missing.
            log.error("Redis is not answering at start-up: %r", exc)
            self.presence.start_heartbeat(swept)
        self._renewal = asyncio.create_task(self._renew(), name="connection-leases")

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(LEASE_RENEW_SECONDS)
            try:
                await self.cap.renew()
            except Exception as exc:
                log.warning("renewing connection leases failed: %r", exc)

    def checks(self) -> dict[str, Callable[[], Awaitable[None]]]:
        return {"redis": self.ping}

    async def ping(self) -> None:
        await self.redis.ping()

    async def stop(self) -> None:
        await cancel(self._renewal)
        await self.moderation.stop()
        await self.presence.close()
        await self.redis.aclose()
