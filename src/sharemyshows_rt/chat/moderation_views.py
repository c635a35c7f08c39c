"""What moderators read: the audit trail, a page at a time, and a show's standing state."""

from __future__ import annotations

from ..clock import as_utc, isoformat_z, utcnow
from ..db.moderation import ModerationRepository
from ..db.repositories import UserRepository
from ..schemas.moderation import (
    Actor,
    BanOut,
    ModerationActionOut,
    ModerationLog,
    ModerationState,
    TimeoutOut,
)
from .moderation_state import Guard


async def audit_page(
    repository: ModerationRepository, show_id: int, *, limit: int, before_id: int | None
) -> ModerationLog:
    """The show's actions, newest first, older than `before_id`."""
    rows, has_more = await repository.actions(show_id, limit=limit, before_id=before_id)
    actions = [
        ModerationActionOut(
            id=row.id,
            action=row.action,
            actor=Actor(user_id=row.actor_id, username=row.username),
            target_user_id=row.target_user_id,
            message_id=row.message_id,
            seconds=row.seconds,
            reason=row.reason,
            count=row.count,
            created_at=isoformat_z(as_utc(row.created_at)),
        )
        for row in rows
    ]
    return ModerationLog(show_id=show_id, actions=actions, has_more=has_more)


async def standing_state(guard: Guard, users: UserRepository, show_id: int) -> ModerationState:
    """Slow mode, the bans and the running time-outs of the show, as this process knows
    them (every process applies every change)."""
    rules = guard.rules(show_id)
    now = utcnow()
    timeouts = {user: until for user, until in rules.timeouts.items() if until > now}
    names = await users.get_many(sorted(set(rules.bans) | set(timeouts)))

    def name(user_id: int) -> str:
        user = names.get(user_id)
        return user.username if user else ""

    return ModerationState(
        show_id=show_id,
        slow_mode_seconds=rules.slow,
        bans=[
            BanOut(user_id=u, username=name(u), since=isoformat_z(at))
            for u, at in sorted(rules.bans.items())
        ],
        timeouts=[
            TimeoutOut(user_id=u, username=name(u), until=isoformat_z(at))
            for u, at in sorted(timeouts.items())
        ],
    )
