"""The standing moderation of each show in memory (bans, time-outs, slow mode), and the
checks on joining and sending made from it: no database or Redis round trip unless a
show has slow mode on. Shows with no moderation are absent: one dict lookup per send."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..backends.moderation import Change, SlowGate
from ..clock import isoformat_z, utcnow
from ..db.moderation import ModerationRepository, StandingState
from ..delivery.rooms import Fanout
from ..errors import BannedFromShow, SlowModeActive, TimedOut
from ..schemas.limits import RESUME_LIMIT
from .auth import Identity

MODERATORS_SECONDS = 30.0  # a show's moderators, as the slow-mode check knows them
MAX_SEEDED = 100_000  # (user, show) pairs whose last message was read; beyond: read again


@dataclass(slots=True)
class ShowRules:
    bans: dict[int, datetime] = field(default_factory=dict)
    timeouts: dict[int, datetime] = field(default_factory=dict)  # until, UTC
    slow: int = 0

    def empty(self) -> bool:
        return not self.bans and not self.timeouts and not self.slow


class Guard:
    """One per process: every show's standing moderation, kept current by `apply`."""

    def __init__(self, repository: ModerationRepository, gate: SlowGate, fanout: Fanout) -> None:
        self.repository = repository
        self._gate = gate
        self._fanout = fanout
        self.shows: dict[int, ShowRules] = {}
        self._moderators: dict[int, tuple[frozenset[int], float]] = {}
        self._seeded: set[str] = set()

    def load(self, standing: StandingState) -> None:
        """The stored state, as read at start."""
        now = utcnow()
        for show_id, user_id, since in standing.bans:
            self._rules(show_id).bans[user_id] = since
        for show_id, user_id, until in standing.timeouts:
            if until > now:
                self._rules(show_id).timeouts[user_id] = until
        for show_id, seconds in standing.slow_modes.items():
            self._rules(show_id).slow = seconds

    def reset(self, standing: StandingState) -> None:
        """The stored state replaces what this process knew (changes may have been missed)."""
        self.shows.clear()
        self._moderators.clear()
        self.load(standing)

    def _rules(self, show_id: int) -> ShowRules:
        return self.shows.setdefault(show_id, ShowRules())

    def apply(self, change: Change) -> None:
        """A change of one show's standing moderation (this process's or another's)."""
        show_id, kind = change["show_id"], change["kind"]
        rules = self._rules(show_id)
        if kind == "ban":
            rules.bans[change["user_id"]] = datetime.fromisoformat(change["at"])
        elif kind == "unban":
            rules.bans.pop(change["user_id"], None)
        elif kind == "timeout":
            until = datetime.fromisoformat(change["until"])
            if not change.get("lift") and until > utcnow():
                rules.timeouts[change["user_id"]] = until
            else:
                rules.timeouts.pop(change["user_id"], None)
        elif kind == "slow":
            rules.slow = change["seconds"]
            self._moderators.pop(show_id, None)
        if rules.empty():
            del self.shows[show_id]

    def rules(self, show_id: int) -> ShowRules:
        """The show's standing moderation (empty when it has none)."""
        return self.shows.get(show_id) or ShowRules()

    # ------------------------------------------------------------------ checks

    def check_join(self, identity: Identity, show_id: int) -> None:
        rules = self.shows.get(show_id)
        if rules is not None and identity.user_id in rules.bans:
            raise BannedFromShow(f"you are banned from show {show_id}")

    async def check_send(self, identity: Identity, show_id: int) -> str | None:
        """Ban, then time-out, then slow mode (called only for a show with moderation); the
        slow-mode window it claimed, which `release` gives back if the send is refused."""
        rules = self.shows[show_id]
        user_id = identity.user_id
        if user_id in rules.bans:
            raise BannedFromShow(f"you are banned from show {show_id}")
        until = rules.timeouts.get(user_id)
        if until is not None:
            remaining = (until - utcnow()).total_seconds()
            if remaining > 0:
                raise TimedOut(f"timed out in show {show_id} until {isoformat_z(until)}", remaining)
            del rules.timeouts[user_id]
            if rules.empty():  # back to one dict lookup per send
                del self.shows[show_id]
                return None
        if rules.slow and not await self.exempt(identity, show_id):
            return await self._slow(user_id, show_id, rules.slow)
        return None

    async def release(self, claimed: str) -> None:
        """A send refused after its slow-mode check: the window it claimed is given back."""
        await self._gate.release(claimed)

    async def _slow(self, user_id: int, show_id: int, seconds: int) -> str:
        key = f"{show_id}:{user_id}"
        if key not in self._seeded:
            # Counted from the last stored message, whenever it was sent: read once.
            last = await self.repository.last_sent(show_id, user_id)
            if last is not None:
                remaining = seconds - (utcnow() - last).total_seconds()
                if remaining > 0:
                    await self._gate.seed(key, remaining)
            if len(self._seeded) >= MAX_SEEDED:
                self._seeded.clear()
            self._seeded.add(key)
        wait = await self._gate.claim(key, seconds)
        if wait > 0:
            raise SlowModeActive(f"one message every {seconds} s in show {show_id}", wait)
        return key

    async def exempt(self, identity: Identity, show_id: int) -> bool:
        """Admins and the show's moderators (known for MODERATORS_SECONDS at a time)."""
        if identity.is_admin:
            return True
        known = self._moderators.get(show_id)
        if known is None or time.monotonic() - known[1] > MODERATORS_SECONDS:
            users = frozenset(user for user, _, _ in await self.repository.moderators(show_id))
            known = (users, time.monotonic())
            self._moderators[show_id] = known
        return identity.user_id in known[0]

    # ------------------------------------------------------------------ joins

    async def before_history(self, sid: str, show_id: int, last_message_id: int | None) -> None:
        """A client resuming is told of the messages it may show that were deleted since,
        before its history and any live event (it is not in the room yet)."""
        if not last_message_id:
            return
        deleted = await self.repository.deleted_among(show_id, last_message_id, RESUME_LIMIT)
        for message_id in deleted:
            payload: dict[str, Any] = {"show_id": show_id, "message_id": message_id}
            await self._fanout.to_connection("message_deleted", payload, sid)

    async def after_join(self, sid: str, show_id: int) -> None:
        """A joiner is told of slow mode after its `active_users`, while it is on."""
        rules = self.shows.get(show_id)
        if rules is not None and rules.slow:
            payload = {"show_id": show_id, "seconds": rules.slow}
            await self._fanout.to_connection("slow_mode", payload, sid)
