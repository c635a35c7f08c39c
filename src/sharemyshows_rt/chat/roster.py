"""What a room is told about who is present. Lists are capped (`PRESENCE_LIST_LIMIT`, with
the exact `count` and `truncated`), paged on request, and in rooms larger than the cap the
`user_joined`/`user_left` broadcasts of a short window are folded into one each, so that
filling a room of n fans costs O(n) broadcasts of bounded size, not O(n^2)."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from ..backends.presence import Presence
from ..delivery.rooms import Fanout
from ..schemas import ActiveUserItem, ActiveUsersPayload, PresenceChangePayload, UserRef

log = logging.getLogger(__name__)
LARGE_ROOM_LIST_SECONDS = 1.0  # how long a large room's first page may be reused


@dataclass(slots=True)
class _Pending:
    joined: list[UserRef] = field(default_factory=list)
    left: list[UserRef] = field(default_factory=list)
    skip: list[str] = field(default_factory=list)  # the joiners' own connections


class Roster:
    def __init__(
        self, presence: Presence, fanout: Fanout, *, list_limit: int, coalesce_seconds: float
    ) -> None:
        self._presence = presence
        self._fanout = fanout
        self.list_limit = list_limit
        self._window = coalesce_seconds
        self._pending: dict[int, _Pending] = {}
        self._first_pages: dict[int, tuple[float, list[ActiveUserItem]]] = {}
        self._flushes: set[asyncio.Task[None]] = set()

    async def page(
        self, show_id: int, offset: int = 0, limit: int | None = None
    ) -> ActiveUsersPayload:
        """Who is present (an `ActiveUsers` payload): `limit` users (default the cap) from
        `offset`, and the count. Built as plain data: it is on every join's path."""
        limit = self.list_limit if limit is None else limit
        if offset == 0 and limit == self.list_limit:
            cached = self._first_pages.get(show_id)
            if cached is not None and time.monotonic() - cached[0] < LARGE_ROOM_LIST_SECONDS:
                count = await self._count(show_id)
                if count > self.list_limit:
                    return {
                        "show_id": show_id,
                        "active_users": cached[1],
                        "count": count,
                        "truncated": True,
                    }
        members, count = await self._presence.page(show_id, offset, limit)
        listed: list[ActiveUserItem] = [
            {"user_id": m.user_id, "username": m.username, "sid": m.sid} for m in members
        ]
        if offset == 0 and limit == self.list_limit and count > self.list_limit:
            # In a large room the first page barely changes (newcomers are listed last):
            # joiners of the next moment share it; the count stays exact.
            if len(self._first_pages) > 10_000:
                self._first_pages.clear()
            self._first_pages[show_id] = (time.monotonic(), listed)
        return {
            "show_id": show_id,
            "active_users": listed,
            "count": count,
            "truncated": offset + len(listed) < count,
        }

    async def _count(self, show_id: int) -> int:
        return (await self._presence.page(show_id, 0, 0))[1]

    async def joined(self, show_id: int, user: UserRef, sid: str) -> None:
        """The user's first connection joined: tell the others."""
        current = None if show_id in self._pending else await self.page(show_id)
        if current is not None and current["count"] <= self.list_limit:
            await self._announce("user_joined", show_id, current, [user], skip=[sid])
        else:
            pending = self._queue(show_id)
            pending.joined.append(user)
            pending.skip.append(sid)

    async def left(self, show_id: int, user: UserRef) -> None:
        """The user's last connection left: tell the others."""
        self._first_pages.pop(show_id, None)  # it may list them: never show who has gone
        current = None if show_id in self._pending else await self.page(show_id)
        if current is not None and current["count"] <= self.list_limit:
            await self._announce("user_left", show_id, current, [user], skip=[])
        else:
            self._queue(show_id).left.append(user)

    def _queue(self, show_id: int) -> _Pending:
        pending = self._pending.get(show_id)
        if pending is None:
            pending = self._pending[show_id] = _Pending()
            task = asyncio.create_task(self._flush_later(show_id), name=f"roster-{show_id}")
            self._flushes.add(task)
            task.add_done_callback(self._flushes.discard)
        return pending

    async def _flush_later(self, show_id: int) -> None:
        # The bigger the room, the longer the window: a broadcast costs one list per member.
        count = await self._count(show_id)
        await asyncio.sleep(self._window * max(1.0, count / (10 * self.list_limit)))
        await self._flush(show_id)

    async def _flush(self, show_id: int) -> None:
        pending = self._pending.pop(show_id, None)
        if pending is None:
            return
        try:
            current = await self.page(show_id)
            if pending.joined:
                await self._announce(
                    "user_joined", show_id, current, pending.joined, skip=pending.skip, batched=True
                )
            if pending.left:
                await self._announce(
                    "user_left", show_id, current, pending.left, skip=[], batched=True
                )
        except Exception:
            log.exception("presence broadcast for show %s failed", show_id)

    async def _announce(
        self,
        event: str,
        show_id: int,
        current: ActiveUsersPayload,
        users: list[UserRef],
        *,
        skip: list[str],
        batched: bool = False,
    ) -> None:
        subject = users[-1]
        verb = "joined" if event == "user_joined" else "left"
        others = len(users) - 1
        text = (
            f"{subject.username} {verb} the chat"
            if not others
            else f"{subject.username} and {others} other{'s' if others > 1 else ''} {verb} the chat"
        )
        change: PresenceChangePayload = {
            "show_id": show_id,
            "user_id": subject.user_id,
            "username": subject.username,
            "message": text,
            "active_users": current["active_users"],
            "count": current["count"],
            "truncated": current["truncated"],
        }
        if batched:
            # Folded into one broadcast, and capped like every list: the newest ones.
            key = "joined" if event == "user_joined" else "left"
            change[key] = [
                {"user_id": u.user_id, "username": u.username} for u in users[-self.list_limit :]
            ]
            change[f"{key}_count"] = len(users)
        await self._fanout.to_show(event, change, show_id, skip=skip or None)

    async def close(self) -> None:
        """Send what is still waiting (shutting down)."""
        for task in list(self._flushes):
            task.cancel()
        for show_id in list(self._pending):
            await self._flush(show_id)
