"""The moderation rules (issue 19): who may act (the show's moderators, site admins, an
author on their own message for DELETE_OWN_SECONDS), what each action changes, stores,
records in the audit trail and announces, on this process and, through the backend's
channel, on every other.

Decisions: a moderator may not act on another moderator of the show (admins may); a
moderator's own recent messages are deleted like anyone's; `banned` goes to the user's
connections that were in the show; the show's moderators are known to the slow-mode
check for MODERATORS_SECONDS (a `moderators add` takes effect within that)."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from .. import logs
from ..backends.moderation import Change, ModerationChannel
from ..clock import isoformat_z, utcnow
from ..db.moderation import ActionDraft, ModerationRepository
from ..db.repositories import UserRecord, UserRepository
from ..delivery.feed import ShowFeed
from ..delivery.rooms import Fanout
from ..errors import Forbidden, MessageNotFound, UserNotFound
from ..schemas.limits import PURGE_SECONDS
from ..schemas.moderation import ModerationLog, ModerationState
from ..tasks import cancel
from .auth import Identity
from .moderation_state import Guard
from .moderation_views import audit_page, standing_state
from .service import ChatService

log = logging.getLogger(__name__)
LOAD_RETRY_SECONDS = 2.0


class Moderation:
    """One per process: the actions of the moderation events and REST routes."""

    def __init__(
        self,
        *,
        repository: ModerationRepository,
        users: UserRepository,
        chat: ChatService,
        guard: Guard,
        fanout: Fanout,
        feed: ShowFeed,
        channel: ModerationChannel,
        delete_own_seconds: float,
    ) -> None:
        self._repository = repository
        self._users = users
        self._chat = chat
        self.guard = guard
        self._fanout = fanout
        self._feed = feed
        self._channel = channel
        self._delete_own = timedelta(seconds=delete_own_seconds)
        self._loading: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Apply the other processes' changes, and load the stored state (in the background
        until the database answers: a server starts while it is away)."""
        await self._channel.start(self.apply)
        try:
            self.guard.load(await self._repository.standing())
        except Exception as exc:
            log.error("moderation state not loaded (%r); trying again in the background", exc)
            self._loading = asyncio.create_task(self._load_later(), name="moderation-state")

    async def _load_later(self) -> None:
        while True:
            await asyncio.sleep(LOAD_RETRY_SECONDS)
            try:
                self.guard.load(await self._repository.standing())
                log.info("moderation state loaded")
                return
            except Exception as exc:
                log.warning("moderation state still not loaded: %r", exc)

    async def stop(self) -> None:
        await cancel(self._loading)

    # ------------------------------------------------------------------ who may act

    async def is_moderator(self, identity: Identity, show_id: int) -> bool:
        return identity.is_admin or await self._repository.is_moderator(show_id, identity.user_id)

    async def require_moderator(self, identity: Identity, show_id: int) -> None:
        """Raise Forbidden unless the user moderates the show (the show must exist)."""
        await self._chat.require_show(show_id)
        if not await self.is_moderator(identity, show_id):
            raise Forbidden(f"only the moderators of show {show_id} may do that")

    async def _target(self, identity: Identity, show_id: int, user_id: int) -> UserRecord:
        await self.require_moderator(identity, show_id)
        user = (await self._users.get_many([user_id])).get(user_id)
        if user is None:
            raise UserNotFound(f"there is no user {user_id}")
        await self._spare_moderators(identity, show_id, user_id)
        return user

    async def _spare_moderators(self, identity: Identity, show_id: int, user_id: int) -> None:
        if identity.is_admin or user_id == identity.user_id:
            return
        if await self._repository.is_moderator(show_id, user_id):
            raise Forbidden(f"user {user_id} is a moderator of show {show_id}")

    async def audit(
        self, identity: Identity, show_id: int, *, limit: int, before_id: int | None
    ) -> ModerationLog:
        """The audit trail, for moderators."""
        await self.require_moderator(identity, show_id)
        return await audit_page(self._repository, show_id, limit=limit, before_id=before_id)

    async def state(self, identity: Identity, show_id: int) -> ModerationState:
        """The standing state, for moderators."""
        await self.require_moderator(identity, show_id)
        return await standing_state(self.guard, self._users, show_id)

    # ------------------------------------------------------------------ actions

    async def delete_message(
        self, identity: Identity, show_id: int, message_id: int, reason: str | None
    ) -> None:
        """The author within DELETE_OWN_SECONDS, or a moderator; deleting again is ok."""
        await self._chat.require_show(show_id)
        message = await self._repository.message(show_id, message_id)
        if message is None:
            raise MessageNotFound(f"there is no message {message_id} in show {show_id}")
        own = message.user_id == identity.user_id
        if not (own and utcnow() - message.created_at <= self._delete_own):
            if not await self.is_moderator(identity, show_id):
                raise Forbidden("only moderators may delete this message")
            await self._spare_moderators(identity, show_id, message.user_id)
        if message.deleted:
            return
        deleted = await self._repository.mark_deleted([message_id], identity.user_id, utcnow())
        if not deleted:
            return  # deleted meanwhile by someone else, who announced it
        await self._record(
            identity, show_id, "delete_message", message.user_id, reason, message_id=message_id
        )
        await self._deleted(show_id, deleted)

    async def timeout(
        self, identity: Identity, show_id: int, user_id: int, seconds: int, reason: str | None
    ) -> str:
        """Time the user out for `seconds` (0 lifts it); the end, ISO 8601 UTC."""
        user = await self._target(identity, show_id, user_id)
        now = utcnow()
        until = now + timedelta(seconds=seconds)
        await self._repository.set_timeout(show_id, user_id, until if seconds else None)
        action = "timeout_user" if seconds else "lift_timeout"
        await self._record(identity, show_id, action, user_id, reason, seconds=seconds)
        at = isoformat_z(until)
        change = {"show_id": show_id, "kind": "timeout", "user_id": user_id}
        await self._change({**change, "until": until.isoformat(), "lift": seconds == 0})
        payload = {"show_id": show_id, "user_id": user_id, "username": user.username, "until": at}
        await self._fanout.to_show("user_timed_out", payload, show_id)
        return at

    async def ban(
        self, identity: Identity, show_id: int, user_id: int, purge: bool, reason: str | None
    ) -> int:
        """Ban the user from the show; with `purge`, delete their last day's messages
        there. The number of messages purged."""
        await self._target(identity, show_id, user_id)
        now = utcnow()
        await self._repository.set_ban(show_id, user_id, now)
        await self._record(identity, show_id, "ban_user", user_id, reason)
        await self._change(
            {"show_id": show_id, "kind": "ban", "user_id": user_id, "at": now.isoformat()}
        )
        if not purge:
            return 0
        since = now - timedelta(seconds=PURGE_SECONDS)
        ids = await self._repository.recent_of(show_id, user_id, since)
        deleted = await self._repository.mark_deleted(ids, identity.user_id, utcnow())
        await self._record(identity, show_id, "purge", user_id, reason, count=len(deleted))
        await self._deleted(show_id, deleted)
        return len(deleted)

    async def unban(
        self, identity: Identity, show_id: int, user_id: int, reason: str | None
    ) -> None:
        await self._target(identity, show_id, user_id)
        await self._repository.set_ban(show_id, user_id, None)
        await self._record(identity, show_id, "unban_user", user_id, reason)
        await self._change({"show_id": show_id, "kind": "unban", "user_id": user_id})

    async def set_slow_mode(
        self, identity: Identity, show_id: int, seconds: int, reason: str | None
    ) -> None:
        await self.require_moderator(identity, show_id)
        await self._repository.set_slow_mode(show_id, seconds, utcnow())
        await self._record(identity, show_id, "set_slow_mode", None, reason, seconds=seconds)
        await self._change({"show_id": show_id, "kind": "slow", "seconds": seconds})
        await self._fanout.to_show("slow_mode", {"show_id": show_id, "seconds": seconds}, show_id)

    # ------------------------------------------------------------------ effects

    async def _record(self, identity, show_id, action, target, reason, **extra) -> None:
        draft = ActionDraft(
            show_id, identity.user_id, action, utcnow(), target, reason=reason, **extra
        )
        await self._repository.record(draft)
        logs.event(
            log, "moderation", show=show_id, user=identity.user_id, act=action, target=target
        )

    async def _deleted(self, show_id: int, message_ids: list[int]) -> None:
        await self._change({"show_id": show_id, "kind": "deleted", "message_ids": message_ids})
        for message_id in message_ids:
            payload = {"show_id": show_id, "message_id": message_id}
            await self._fanout.to_show("message_deleted", payload, show_id)

    async def _change(self, change: Change) -> None:
        """Apply here, then tell the other processes."""
        await self.apply(change)
        await self._channel.publish(change)

    async def apply(self, change: Change) -> None:
        """One change, on this process: the standing state, the cached histories, and a
        banned user's connections here, which leave the show."""
        show_id = change["show_id"]
        if change["kind"] == "reload":
            self.guard.reset(await self._repository.standing())
            for banned_show, rules in list(self.guard.shows.items()):
                for user_id in list(rules.bans):
                    await self._evict(user_id, banned_show)
            return
        if change["kind"] == "deleted":
            self._feed.drop(show_id, set(change["message_ids"]))
            return
        self.guard.apply(change)
        if change["kind"] == "ban":
            await self._evict(change["user_id"], show_id)

    async def _evict(self, user_id: int, show_id: int) -> None:
        """A banned user's connections on this process leave the show, each told why."""
        for sid in self._chat.sids_of(user_id):
            if await self._chat.leave(sid, show_id):
                await self._fanout.to_connection("banned", {"show_id": show_id}, sid)
