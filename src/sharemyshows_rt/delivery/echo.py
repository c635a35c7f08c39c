"""Publishing through Redis: every process, the publisher included, delivers a message when
Redis hands it back; the publisher waits for that echo, and delivers itself what does not
come back in time."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

log = logging.getLogger(__name__)
Payload = dict[str, Any]
ECHO_TIMEOUT = 2.0  # seconds to wait for Redis to hand a published message back


class Publishing(Protocol):
    async def publish_messages(self, payloads: list[Payload]) -> bool:
        """Publish messages (in id order) to every process; False when they could not be."""


class Outage(Protocol):
    @property
    def active(self) -> bool:
        """True while the Redis subscription is down."""


class EchoPublisher:
    """Publishes committed messages and waits until Redis has handed each one back."""

    def __init__(
        self,
        bus: Publishing | None,
        deliver: Callable[[list[Payload]], Awaitable[None]],
        outage: Outage,
    ) -> None:
        self._bus = bus
        self._deliver = deliver
        self._outage = outage
        # Published messages not yet back from Redis: id -> resolved when delivered here.
        self.waiting: dict[int, asyncio.Future[None]] = {}

    async def publish(self, payloads: list[Payload]) -> None:
        """Send `new_message` for each committed message (payloads in id order) to every
        member."""
        if not payloads:  # a batch of retries only: nothing new
            return
        if self._bus is None:
            await self._deliver(payloads)
            return
        if self._outage.active:
            # Redis is away: everyone here gets these from the database, in id order.
            await self._bus.publish_messages(payloads)
            return
        loop = asyncio.get_running_loop()
        echoes = [
            self.waiting.setdefault(payload["id"], loop.create_future()) for payload in payloads
        ]
        try:
            if not await self._bus.publish_messages(payloads):
                # Redis is down: this process's members at least get them now.
                await self._deliver(payloads)
                return
            _, pending = await asyncio.wait(echoes, timeout=ECHO_TIMEOUT)
            if pending:
                late = [payload for payload, echo in zip(payloads, echoes) if not echo.done()]
                log.warning(
                    "%d message(s) did not come back from Redis (first: %s); delivering locally",
                    len(late),
                    late[0]["id"],
                )
                await self._deliver(late)
        finally:
            for payload in payloads:
                self.waiting.pop(payload["id"], None)
