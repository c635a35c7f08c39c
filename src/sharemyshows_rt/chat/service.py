"""The chat rules: joining and leaving shows, presence across tabs, check-ins, messages and
typing. Transports call these; nothing here knows about Socket.IO packets or HTTP."""

from __future__ import annotations

import logging
from typing import Any

from .. import logs, metrics
from ..backends.limits import RateLimiter
from ..backends.presence import Departure, Presence
from ..clock import utcnow
from ..db.repositories import MessageDraft, MessagePage, MessageRepository, ShowRepository
from ..delivery.feed import Deliver, Payload, ShowFeed
from ..delivery.rooms import Fanout
from ..delivery.writer import MessageWriter
from ..errors import (
    MessageTooLong,
    MissingShowIdOrMessage,
    NotInShowRoom,
    SlowModeActive,
)
from ..locks import KeyedLock
from ..schemas import UserRef, UserTyping, message_payload
from ..schemas.limits import RESUME_LIMIT
from .auth import Identity
from .checkins import CheckinRecorder
from .limits import Rates, rate_limited, send_buckets
from .moderation_state import Guard
from .roster import Roster
from .shows import KnownShows

log = logging.getLogger(__name__)


class ChatService:
    """One instance per process; holds the connections this process serves."""

    def __init__(
        self,
        *,
        shows: ShowRepository,
        messages: MessageRepository,
        checkins: CheckinRecorder,
        presence: Presence,
        roster: Roster,
        fanout: Fanout,
        feed: ShowFeed,
        writer: MessageWriter,
        limiter: RateLimiter,
        rates: Rates,
        history_limit: int,
        message_max_length: int,
        guard: Guard,
    ) -> None:
        self._shows = KnownShows(shows)
        self._messages = messages
        self._checkins = checkins
        self._presence = presence
        self._roster = roster
        self._fanout = fanout
        self._feed = feed
        self._writer = writer
        self._limiter = limiter
        self._rates = rates
        self._history_limit = history_limit
        self._message_max_length = message_max_length
        self._guard = guard
        self._connections: dict[str, Identity] = {}
        self._membership = KeyedLock()

    # ------------------------------------------------------------------ connections

    def connected(self, sid: str, identity: Identity) -> None:
        self._connections[sid] = identity

    def identity(self, sid: str) -> Identity:
        return self._connections[sid]

    def has(self, sid: str) -> bool:
        return sid in self._connections

    def sids(self) -> list[str]:
        """The connections this process serves now."""
        return list(self._connections)

    def sids_of(self, user_id: int) -> list[str]:
        """The user's connections on this process."""
        return [sid for sid, who in self._connections.items() if who.user_id == user_id]

    async def disconnected(self, sid: str) -> None:
        """The connection is gone: it leaves every show it was in."""
        identity = self._connections.get(sid)
        if identity is None:
            return
        try:
            async with self._membership.hold(identity.user_id):
                # A drain and the transport may both report the same connection gone.
                for departure in await self._presence.leave_all(sid):
                    self._feed.forget(sid, departure.show_id)
                    await self._departed(departure)
        finally:
            self._connections.pop(sid, None)

    # ------------------------------------------------------------------ shows

    async def require_show(self, show_id: int) -> None:
        """Raise ShowNotFound unless the show exists."""
        await self._shows.require(show_id)

    async def join(self, sid: str, show_id: int, last_message_id: int | None = None) -> None:
        """Join a show: the joiner gets `message_history` then `active_users`; the others get
        `user_joined` when this is the user's first connection there. With `last_message_id`
        the history is exactly the messages after it (a client resuming)."""
        identity = self._connections[sid]
        await self.require_show(show_id)
        self._guard.check_join(identity, show_id)
        async with self._membership.hold(identity.user_id):
            await self._guard.before_history(sid, show_id, last_message_id)
            first = await self._attach(sid, identity, show_id, last_message_id)
            logs.event(log, "join", sid=sid, user=identity.user_id, show=show_id)
            # Every join, not only the first tab's: a check-in queued by a process that then
            # crashed is written by the next join on a live one (they are batched anyway).
            self._checkins.check_in(identity.user_id, show_id)
            members = await self._roster.page(show_id)
            await self._fanout.to_connection("active_users", members, sid)
            await self._guard.after_join(sid, show_id)
            if first:
                await self._roster.joined(
                    show_id,
                    UserRef.model_construct(user_id=identity.user_id, username=identity.username),
                    sid,
                )

    async def _attach(
        self, sid: str, identity: Identity, show_id: int, after_id: int | None
    ) -> bool:
        """Enter the room with a gapless history, then presence; True when the user was not
        present before."""
        await self._enter_with_history(sid, show_id, after_id)
        # After the feed's lock, not under it: with Redis this is a round trip, which must not
        # make a storm's joins go through one at a time.
        # Presence records the connection locally before its first await, long before the
        # history reaches the client: a send right after it finds the sender a member.
        return await self._presence.join(show_id, identity.user_id, identity.username, sid)

    async def _enter_with_history(self, sid: str, show_id: int, after_id: int | None) -> None:
        limit = self._history_limit if after_id is None else RESUME_LIMIT

        async def deliver(messages: list[Payload], has_more: bool) -> None:
            history = {"show_id": show_id, "messages": messages, "has_more": has_more}
            await self._fanout.to_connection("message_history", history, sid)

        if after_id is not None:
            await self._attach_read(sid, show_id, limit, after_id, deliver)
            return
        if await self._feed.attach_cached(sid, show_id, deliver):
            return
        async with self._feed.reading(show_id) as reader:
            if reader or not await self._feed.attach_cached(sid, show_id, deliver):
                await self._attach_read(sid, show_id, limit, None, deliver)

    async def _attach_read(
        self, sid: str, show_id: int, limit: int, after_id: int | None, deliver: Deliver
    ) -> None:
        """Enter the room with the history read from the database."""
        while True:
            async with self._feed.joining(show_id) as ticket:
                page = await self._feed.read_history(show_id, limit, after_id)
                if await ticket.attach(
                    sid,
                    page.messages,
                    limit,
                    deliver,
                    after_id=after_id or 0,
                    has_more=page.has_more,
                ):
                    return

    async def leave(self, sid: str, show_id: int) -> bool:
        """Leave a show; the others get `user_left` when it was the user's last connection.
        False: the connection was not in the show."""
        identity = self._connections[sid]
        async with self._membership.hold(identity.user_id):
            departure = await self._presence.leave(show_id, sid)
            if departure is None:
                return False  # never joined: nothing changes, nobody is told
            self._feed.forget(sid, show_id)
            await self._fanout.exit(sid, show_id)
            logs.event(log, "leave", sid=sid, user=identity.user_id, show=show_id)
            await self._departed(departure)
            return True

    async def swept(self, departures: list[Departure]) -> None:
        """Connections of a dead process were removed from presence: tell the rooms."""
        for departure in departures:
            await self._departed(departure)

    async def _departed(self, departure: Departure) -> None:
        if not departure.last:
            return
        self._checkins.check_out(departure.user_id, departure.show_id)
        await self._roster.left(
            departure.show_id,
            UserRef.model_construct(user_id=departure.user_id, username=departure.username),
        )

    async def active_users(
        self, show_id: int, offset: int = 0, limit: int | None = None
    ) -> dict[str, Any]:
        """Who is present in the show, each user once: a page, and the count."""
        return await self._roster.page(show_id, offset, limit)

    # ------------------------------------------------------------------ messages

    async def send(
        self, sid: str, show_id: int | None, text: str | None, client_msg_id: str | None = None
    ) -> dict[str, Any]:
        """Store a message and deliver `new_message` to the whole room, sender included;
        returns its payload. A retry (same `client_msg_id`) returns the first one's."""
        identity = self._connections[sid]
        text = text.strip() if text is not None else ""
        if show_id is None or not text:
            raise MissingShowIdOrMessage("send_message needs a show_id and a non-empty message")
        if len(text) > self._message_max_length:
            raise MessageTooLong(f"{len(text)} characters; at most {self._message_max_length}")
        claimed = None
        if show_id in self._guard.shows:  # ban, time-out, slow mode: before any token
            try:
                claimed = await self._guard.check_send(identity, show_id)
            except SlowModeActive:
                retry = await self._retry(show_id, identity.user_id, client_msg_id)
                if retry is None:
                    raise
                return retry
        stored = False
        try:
            payload, stored = await self._store(sid, identity, show_id, text, client_msg_id)
            return payload
        finally:
            if claimed is not None and not stored:  # a refused send starts no window
                await self._guard.release(claimed)

    async def _store(
        self, sid: str, identity: Identity, show_id: int, text: str, client_msg_id: str | None
    ) -> tuple[dict[str, Any], bool]:
        """Membership, both rate limits, then the writer: the payload, and whether it is a
        new row (not a retry's)."""
        if not await self._presence.is_member(show_id, sid):
            raise NotInShowRoom(f"join show {show_id} before sending to it")
        buckets = send_buckets(self._rates, identity.user_id, show_id)
        wait = await self._limiter.take_all(buckets)
        if wait:
            retry = await self._retry(show_id, identity.user_id, client_msg_id)
            if retry is None:
                raise rate_limited(self._rates, wait)
            return retry, False
        draft = MessageDraft(
            show_id, identity.user_id, identity.username, text, utcnow(), client_msg_id
        )
        payload, created = await self._writer.store(draft)
        if not created:  # a retry: it spends no token
            await self._limiter.give_back(buckets)
        return payload, created

    async def _retry(
        self, show_id: int, user_id: int, client_msg_id: str | None
    ) -> dict[str, Any] | None:
        """The stored message a retry (same `client_msg_id`) asks for again, never refused:
        looked up only when a limit refuses, so an ordinary message costs no query."""
        if client_msg_id is None:
            return None
        stored = await self._messages.by_client_msg_id(show_id, user_id, client_msg_id)
        return None if stored is None else message_payload(stored)

    async def typing(self, sid: str, show_id: int, is_typing: bool) -> bool:
        """Tell the others in the room (never the sender) that this user is typing;
        False when dropped for coming faster than the typing rate."""
        identity = self._connections[sid]
        if not await self._presence.is_member(show_id, sid):
            raise NotInShowRoom(f"join show {show_id} before typing in it")
        rate = self._rates.typing_rate
        # Starts and stops have a bucket each, so a dropped start never eats the stop.
        key = f"typing:{identity.user_id}:{show_id}:{int(is_typing)}"
        if await self._limiter.take(key, rate, max(1, int(rate))):
            metrics.RATE_LIMITED.labels("typing").inc()
            return False
        payload = UserTyping(
            show_id=show_id,
            user_id=identity.user_id,
            username=identity.username,
            is_typing=is_typing,
        )
        await self._fanout.to_show("user_typing", payload.model_dump(), show_id, skip=sid)
        return True

    async def history(self, show_id: int, *, limit: int, before_id: int | None) -> MessagePage:
        """A page of a show's messages, oldest first, older than `before_id`."""
        await self.require_show(show_id)
        return await self._messages.page(show_id, limit=limit, before_id=before_id)
