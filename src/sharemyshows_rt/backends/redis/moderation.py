"""Moderation across processes in Redis: a pub/sub channel of changes, and slow-mode
windows as keys that expire (`SET NX PX`), shared by a user's tabs on every process."""

from __future__ import annotations

import asyncio
import json
import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ...logs import now_and_then
from ...tasks import cancel
from ..memory.moderation import MemorySlowGate
from ..moderation import RELOAD, Apply, Change, ModerationChannel, SlowGate
from .outage import LocalWhileDown

log = logging.getLogger(__name__)
RETRY_SECONDS = 1.0


class RedisModerationChannel(ModerationChannel):
    def __init__(self, redis: Redis, namespace: str, proc: str) -> None:
        self._redis = redis
        self._channel = f"{namespace}:moderation"
        self._proc = proc
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    async def publish(self, change: Change) -> None:
        try:
            await self._redis.publish(self._channel, json.dumps({**change, "proc": self._proc}))
        except RedisError as exc:
            # Stored and applied here already; the others reload the stored state when their
            # subscription comes back (RELOAD).
            now_and_then(log, "moderation", "moderation change not published: %r", exc)

    async def start(self, apply: Apply) -> None:
        self._task = asyncio.create_task(self._listen(apply), name="moderation-channel")
        try:
            await asyncio.wait_for(self._subscribed.wait(), 5.0)
        except TimeoutError:
            log.error("the moderation channel is not subscribed yet; it keeps trying")

    async def _listen(self, apply: Apply) -> None:
        while True:
            try:
                async with self._redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(self._channel)
                    if self._subscribed.is_set():  # back after a loss: changes may be missed
                        await apply(RELOAD)
                    self._subscribed.set()
                    async for message in pubsub.listen():
                        await self._apply(apply, message)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("moderation channel lost (%r); subscribing again", exc)
                await asyncio.sleep(RETRY_SECONDS)

    async def _apply(self, apply: Apply, message: dict) -> None:
        if message.get("type") != "message":
            return
        try:
            change = json.loads(message["data"])
            if change.pop("proc", None) == self._proc:
                return  # this process applied it before publishing
            await apply(change)
        except Exception:
            log.exception("a moderation change could not be applied: %r", message.get("data"))

    async def stop(self) -> None:
        await cancel(self._task)


class RedisSlowGate(LocalWhileDown, SlowGate):
    """The windows in Redis (SET NX PX), shared by the user's tabs on every process; while
    Redis is away, this process's own windows stand in."""

    kept_here = "slow-mode windows"

    def __init__(self, redis: Redis, namespace: str) -> None:
        self._redis = redis
        self._prefix = f"{namespace}:slow:"
        self._local = MemorySlowGate()

    async def claim(self, key: str, seconds: float) -> float:
        name = self._prefix + key
        try:
            if await self._redis.set(name, 1, px=max(1, round(seconds * 1000)), nx=True):
                return 0.0
            remaining = await self._redis.pttl(name)
        except RedisError as exc:
            self._carry_on_locally(exc)
            return await self._local.claim(key, seconds)
        return max(remaining, 1) / 1000

    async def seed(self, key: str, remaining: float) -> None:
        try:
            await self._redis.set(
                self._prefix + key, 1, px=max(1, round(remaining * 1000)), nx=True
            )
        except RedisError as exc:
            self._carry_on_locally(exc)
            await self._local.seed(key, remaining)

    async def release(self, key: str) -> None:
        await self._local.release(key)
        try:
            await self._redis.delete(self._prefix + key)
        except RedisError as exc:  # the window ends by itself (PX)
            self._carry_on_locally(exc)
