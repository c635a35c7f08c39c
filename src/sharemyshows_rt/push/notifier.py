"""Who hears of a stored message: users checked in to the show (still, or within
PUSH_CHECKIN_WINDOW) or mentioned as @username, with a push subscription, not muted, not
connected to the show's room, never the sender; folded per user and show."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from datetime import timedelta
from typing import Any

from ..backends.coalesce import Coalescer, Folded
from ..backends.events import Event, Events
from ..backends.presence import Presence
from ..clock import utcnow
from ..db.push import PushRepository
from ..db.repositories import StoredMessage
from ..tasks import cancel_all
from .sender import Push, PushSender

log = logging.getLogger(__name__)
MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9_.-]{1,80})")
PREVIEW = 120
FLUSH_SECONDS = 1.0


class Notifier:
    def __init__(
        self,
        repository: PushRepository,
        presence: Presence,
        sender: PushSender,
        coalescer: Coalescer,
        events: Events,
        *,
        checkin_window: float,
        url_template: str,
    ) -> None:
        self._repository = repository
        self._presence = presence
        self._sender = sender
        self._coalescer = coalescer
        self._events = events
        self._checkin_window = checkin_window
        self._url_template = url_template
        self._titles: dict[int, str] = {}
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._sender.start()
        self._tasks = [
            asyncio.create_task(self._events.run(self.handle), name="push-events"),
            asyncio.create_task(self._flush(), name="push-folds"),
        ]

    async def stop(self) -> None:
        await cancel_all(self._tasks)
        await self._sender.stop()

    def message_stored(self, message: StoredMessage) -> None:
        """On the message path: only hands the message over."""
        self._events.put(
            {
                "id": message.id,
                "show_id": message.show_id,
                "user_id": message.user_id,
                "username": message.username,
                "text": message.message[:PREVIEW],
                "mentions": sorted(set(MENTION.findall(message.message)))[:20],
            }
        )

    async def handle(self, events: list[Event]) -> None:
        """Notify for a batch of stored messages, one pass per show."""
        by_show: dict[int, list[Event]] = {}
        for event in events:
            by_show.setdefault(event["show_id"], []).append(event)
        for show_id, messages in by_show.items():
            await self._notify_show(show_id, messages)

    async def _notify_show(self, show_id: int, messages: list[Event]) -> None:
        mentioned = sorted({name for m in messages for name in m["mentions"]})
        since = utcnow() - timedelta(seconds=self._checkin_window)
        audience = await self._repository.audience(
            show_id, checked_in_since=since, mentioned=mentioned
        )
        if not audience:
            return
        present = await self._presence.present_users(show_id, [user for user, _ in audience])
        now = time.time()
        for user_id, username in audience:
            if user_id in present:
                continue
            # Never told of one's own messages.
            theirs = [m for m in messages if m["user_id"] != user_id]
            if not theirs:
                continue
            last = {
                "username": theirs[-1]["username"],
                "message": theirs[-1]["text"],
                "ids": [m["id"] for m in theirs],  # a fold leaves out those deleted meanwhile
            }
            if await self._coalescer.offer(user_id, show_id, len(theirs), last, now):
                mentioned_them = any(username in m["mentions"] for m in theirs)
                await self._push(user_id, show_id, len(theirs), last, urgent=mentioned_them)

    async def _push(
        self, user_id: int, show_id: int, count: int, last: dict[str, Any], *, urgent: bool = False
    ) -> None:
        self._sender.enqueue(
            Push(
                user_id=user_id,
                payload={
                    "type": "chat",
                    "show_id": show_id,
                    "show_title": await self._title(show_id),
                    "count": count,
                    "last": {k: v for k, v in last.items() if k != "ids"},
                    "url": self._url_template.format(show_id=show_id),
                },
                # One topic per show: a newer push replaces one the device has not received yet.
                topic=f"show-{show_id}",
                urgency="high" if urgent else "normal",
            )
        )

    async def _push_fold(self, fold: Folded) -> None:
        """A fold's notification, without the messages deleted since; none if none is left."""
        ids = fold.last.get("ids")
        count, last = fold.count, fold.last
        if ids:
            left = await self._repository.undeleted(ids)
            count -= len(ids) - len(left)
            if count <= 0 or not left:
                return
            last = {"username": left[-1][1], "message": left[-1][2][:PREVIEW]}
        await self._push(fold.user_id, fold.show_id, count, last)

    async def _title(self, show_id: int) -> str:
        title = self._titles.get(show_id)
        if title is None:
            title = await self._repository.show_title(show_id) or ""
            if len(self._titles) > 10_000:
                self._titles.clear()
            self._titles[show_id] = title
        return title

    async def _flush(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            try:
                for fold in await self._coalescer.due(time.time()):
                    present = await self._presence.present_users(fold.show_id, [fold.user_id])
                    if fold.user_id not in present:
                        await self._push_fold(fold)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("sending folded push notifications failed")
