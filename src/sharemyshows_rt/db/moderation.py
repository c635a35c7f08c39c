"""SQL for moderation: moderators, the standing bans, time-outs and slow modes, the audit
trail, and messages kept as deleted. No rules here, only queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from ..clock import as_utc
from .models import ChatMessage, User
from .moderation_models import (
    ModerationAction,
    ShowBan,
    ShowModerator,
    ShowSlowMode,
    ShowTimeout,
)


@dataclass(frozen=True, slots=True)
class MessageRef:
    id: int
    show_id: int
    user_id: int
    created_at: datetime
    deleted: bool


@dataclass(frozen=True, slots=True)
class ActionDraft:
    show_id: int
    actor_id: int
    action: str
    created_at: datetime
    target_user_id: int | None = None
    message_id: int | None = None
    seconds: int | None = None
    reason: str | None = None
    count: int | None = None


@dataclass(frozen=True, slots=True)
class StandingState:
    """Every show's bans, time-outs (possibly expired) and slow modes, as stored."""

    bans: list[tuple[int, int, datetime]]
    timeouts: list[tuple[int, int, datetime]]
    slow_modes: dict[int, int]


class ModerationRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    # ------------------------------------------------------------------ moderators

    async def is_moderator(self, show_id: int, user_id: int) -> bool:
        query = select(ShowModerator.user_id).where(
            ShowModerator.show_id == show_id, ShowModerator.user_id == user_id
        )
        async with self._engine.connect() as conn:
            return (await conn.execute(query)).first() is not None

    async def moderators(self, show_id: int) -> list[tuple[int, str, datetime]]:
        query = (
            select(ShowModerator.user_id, User.username, ShowModerator.added_at)
            .join(User, User.id == ShowModerator.user_id)
            .where(ShowModerator.show_id == show_id)
            .order_by(ShowModerator.user_id)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [(row.user_id, row.username, as_utc(row.added_at)) for row in rows]

    async def add_moderator(self, show_id: int, user_id: int, at: datetime) -> bool:
        """Make the user a moderator of the show; False if they already were."""
        if await self.is_moderator(show_id, user_id):
            return False
        async with self._engine.begin() as conn:
            await conn.execute(
                insert(ShowModerator).values(show_id=show_id, user_id=user_id, added_at=at)
            )
        return True

    async def remove_moderator(self, show_id: int, user_id: int) -> bool:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                delete(ShowModerator).where(
                    ShowModerator.show_id == show_id, ShowModerator.user_id == user_id
                )
            )
        return result.rowcount > 0

    # ------------------------------------------------------------------ standing state

    async def standing(self) -> StandingState:
        """All bans, time-outs and slow modes (loaded once at start)."""
        async with self._engine.connect() as conn:
            bans = (await conn.execute(select(*ShowBan.__table__.columns))).all()
            timeouts = (await conn.execute(select(*ShowTimeout.__table__.columns))).all()
            slow = (await conn.execute(select(*ShowSlowMode.__table__.columns))).all()
        return StandingState(
            [(b.show_id, b.user_id, as_utc(b.banned_at)) for b in bans],
            [(t.show_id, t.user_id, as_utc(t.until)) for t in timeouts],
            {s.show_id: s.seconds for s in slow if s.seconds > 0},
        )

    async def set_ban(self, show_id: int, user_id: int, at: datetime | None) -> None:
        """Ban the user from the show (`at`), or lift the ban (None)."""
        async with self._engine.begin() as conn:
            await conn.execute(
                delete(ShowBan).where(ShowBan.show_id == show_id, ShowBan.user_id == user_id)
            )
            if at is not None:
                await conn.execute(
                    insert(ShowBan).values(show_id=show_id, user_id=user_id, banned_at=at)
                )

    async def set_timeout(self, show_id: int, user_id: int, until: datetime | None) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                delete(ShowTimeout).where(
                    ShowTimeout.show_id == show_id, ShowTimeout.user_id == user_id
                )
            )
            if until is not None:
                await conn.execute(
                    insert(ShowTimeout).values(show_id=show_id, user_id=user_id, until=until)
                )

    async def set_slow_mode(self, show_id: int, seconds: int, at: datetime) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(delete(ShowSlowMode).where(ShowSlowMode.show_id == show_id))
            if seconds > 0:
                await conn.execute(
                    insert(ShowSlowMode).values(show_id=show_id, seconds=seconds, set_at=at)
                )

    # ------------------------------------------------------------------ audit trail

    async def record(self, draft: ActionDraft) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(insert(ModerationAction).values(**_fields(draft)))

    async def actions(self, show_id: int, *, limit: int, before_id: int | None) -> tuple:
        """The newest `limit` actions of a show before `before_id`, newest first (rows with
        the actor's `username`); and whether older ones exist."""
        query = (
            select(*ModerationAction.__table__.columns, User.username)
            .join(User, User.id == ModerationAction.actor_id)
            .where(ModerationAction.show_id == show_id)
            .order_by(ModerationAction.id.desc())
            .limit(limit + 1)
        )
        if before_id is not None:
            query = query.where(ModerationAction.id < before_id)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return rows[:limit], len(rows) > limit

    # ------------------------------------------------------------------ messages

    async def message(self, show_id: int, message_id: int) -> MessageRef | None:
        query = select(
            ChatMessage.id,
            ChatMessage.show_id,
            ChatMessage.user_id,
            ChatMessage.created_at,
            ChatMessage.deleted_at,
        ).where(ChatMessage.id == message_id, ChatMessage.show_id == show_id)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        return MessageRef(
            row.id, row.show_id, row.user_id, as_utc(row.created_at), row.deleted_at is not None
        )

    async def mark_deleted(self, message_ids: list[int], by: int, at: datetime) -> list[int]:
        """Mark the messages deleted; the ids this call deleted (not deleted before)."""
        if not message_ids:
            return []
        statement = (
            update(ChatMessage)
            .where(ChatMessage.id.in_(message_ids), ChatMessage.deleted_at.is_(None))
            .values(deleted_at=at, deleted_by=by)
            .returning(ChatMessage.id)
        )
        async with self._engine.begin() as conn:
            return sorted((await conn.execute(statement)).scalars().all())

    async def recent_of(self, show_id: int, user_id: int, since: datetime) -> list[int]:
        """The ids of the user's undeleted messages in the show since `since`."""
        query = select(ChatMessage.id).where(
            ChatMessage.show_id == show_id,
            ChatMessage.user_id == user_id,
            ChatMessage.created_at >= since,
            ChatMessage.deleted_at.is_(None),
        )
        async with self._engine.connect() as conn:
            return list((await conn.execute(query)).scalars().all())

    async def deleted_among(self, show_id: int, up_to: int, window: int) -> list[int]:
        """The deleted ones among the show's last `window` messages up to id `up_to`."""
        last = (
            select(ChatMessage.id, ChatMessage.deleted_at)
            .where(ChatMessage.show_id == show_id, ChatMessage.id <= up_to)
            .order_by(ChatMessage.id.desc())
            .limit(window)
            .subquery()
        )
        query = select(last.c.id).where(last.c.deleted_at.is_not(None)).order_by(last.c.id)
        async with self._engine.connect() as conn:
            return list((await conn.execute(query)).scalars().all())

    async def last_sent(self, show_id: int, user_id: int) -> datetime | None:
        """When the user's last stored message in the show was sent (deleted ones count)."""
        query = (
            select(ChatMessage.created_at)
            .where(ChatMessage.show_id == show_id, ChatMessage.user_id == user_id)
            .order_by(ChatMessage.id.desc())
            .limit(1)
        )
        async with self._engine.connect() as conn:
            value = (await conn.execute(query)).scalar()
        return as_utc(value) if value is not None else None


def _fields(draft: ActionDraft) -> dict:
    return {name: getattr(draft, name) for name in ActionDraft.__slots__}
