"""Push events through a Redis stream with a consumer group, so that each message is handled
by one process, and a process that dies leaves its share to be claimed by another."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from ..events import BATCH, Events, Handler

log = logging.getLogger(__name__)


class RedisEvents(Events):
    CLAIM_IDLE_MS = 30_000

    def __init__(self, redis: Redis, namespace: str, consumer: str) -> None:
        super().__init__()
        self._redis = redis
        self._stream = f"{namespace}:push:events"
        self._group = "notifiers"
        self._consumer = consumer

    async def run(self, handle: Handler) -> None:
        await asyncio.gather(self._pump(), self._consume(handle))

    async def _pump(self) -> None:
        while True:
            batch = await self._drain_local()
            while True:
                try:
                    async with self._redis.pipeline(transaction=False) as pipe:
                        for event in batch:
                            pipe.xadd(
                                self._stream,
                                {"e": orjson.dumps(event)},
                                maxlen=100_000,
                                approximate=True,
                            )
                        await pipe.execute()
                    break
                except Exception as exc:
                    log.warning("push events not handed to Redis yet (%r); retrying", exc)
                    await asyncio.sleep(1)

    async def _consume(self, handle: Handler) -> None:
        while True:
            try:
                await self._ensure_group()
                claimed = await self._claim()
                if claimed:
                    await self._handle(handle, claimed)
                answer = await self._redis.xreadgroup(
                    self._group, self._consumer, {self._stream: ">"}, count=BATCH, block=1000
                )
                for _, entries in answer or []:
                    await self._handle(handle, entries)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("reading push events from Redis failed (%r); retrying", exc)
                await asyncio.sleep(1)

    async def _ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(self._stream, self._group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def _claim(self) -> list[Any]:
        """Entries another consumer took and never acknowledged (it died)."""
        result = await self._redis.xautoclaim(
            self._stream, self._group, self._consumer, min_idle_time=self.CLAIM_IDLE_MS, count=BATCH
        )
        return result[1] if result else []

    async def _handle(self, handle: Handler, entries: list[Any]) -> None:
        ids = [entry_id for entry_id, _ in entries]
        events = [orjson.loads(fields[b"e"]) for _, fields in entries if fields and b"e" in fields]
        try:
            await handle(events)
        except Exception:
            log.exception("push notifier failed on %d message(s)", len(events))
        if ids:
            await self._redis.xack(self._stream, self._group, *ids)
