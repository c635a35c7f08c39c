"""Delivering from the database while the Redis subscription is down: each process reads
its shows' new messages (every process's) in id order, then catches up and hands back to
Redis without a repeat or a gap."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any, Protocol

from ..clock import utcnow
from ..db.repositories import MessageRepository
from ..logs import now_and_then
from ..schemas import message_payload
from ..tasks import cancel
from .rooms import Fanout

log = logging.getLogger(__name__)
Payload = dict[str, Any]
POLL_SECONDS = 0.5  # reading new messages from the database while Redis is away
SETTLE_SECONDS = 1.0  # ... those committed at least this long ago
PAGE = 500


class Feed(Protocol):
    """What the fallback delivers through (the show feed), in id order, once each."""

    async def deliver(self, payloads: list[Payload]) -> None:
        """Deliver messages (in id order) to this process's members, once per id."""

    def last_delivered(self, show_id: int) -> int | None:
        """The newest message id this process's members of the show have (None: unknown)."""


class DatabaseFallback:
    """Reads the database for this process's shows while the Redis subscription is down."""

    def __init__(self, feed: Feed, messages: MessageRepository, fanout: Fanout) -> None:
        self._feed = feed
        self._messages = messages
        self._fanout = fanout
        self._polling: asyncio.Future[None] | None = None
        self._held: list[Payload] | None = None  # what Redis brought while catching up

    @property
    def active(self) -> bool:
        """True while the subscription is down: deliveries come from the database."""
        return self._polling is not None

    def lost(self) -> None:
        """The Redis subscription is gone: read the database until it is back."""
        if self._polling is None:
            log.warning("Redis subscription lost: delivering from the database meanwhile")
            self._polling = asyncio.ensure_future(self._poll())

    async def back(self) -> None:
        """The subscription is back: deliver what is left from the database, then what
        Redis brought meanwhile, then carry on from Redis."""
        if self._polling is None:
            return
        self._held = []
        try:
            await cancel(self._polling)
            self._polling = None
            await self._read_new(settle=0.0)
        finally:
            held, self._held = self._held, None
            await self._feed.deliver(sorted(held, key=lambda payload: payload["id"]))
        log.warning("Redis subscription back: delivering from Redis again")

    def hold(self, payload: Payload) -> bool:
        """Keep a message Redis brought while catching up; False when not catching up."""
        if self._held is None:
            return False
        self._held.append(payload)
        return True

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(POLL_SECONDS)
            try:
                await self._read_new(settle=SETTLE_SECONDS)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                now_and_then(log, "feed-poll", "reading new messages failed: %r", exc)

    async def _read_new(self, *, settle: float) -> None:
        """Deliver, oldest first, the committed messages of this process's shows that it
        has not delivered; only those older than `settle` seconds, whose lower ids are
        all committed too (no cross-process publish lock without Redis)."""
        settled = utcnow() - timedelta(seconds=settle)
        for show_id in self._fanout.local_shows():
            while True:
                after = self._feed.last_delivered(show_id)
                if after is None:
                    break  # nobody here has seen this show's messages yet
                page = await self._messages.after(
                    show_id, after, limit=PAGE, created_before=settled
                )
                await self._feed.deliver([message_payload(message) for message in page])
                if len(page) < PAGE:
                    break
