"""SQL for the chat: users, shows, messages and check-ins. No rules here, only queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from ..clock import as_utc
from .models import ChatMessage, Show, ShowCheckin, User


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: int
    username: str


@dataclass(frozen=True, slots=True)
class MessageDraft:
    """A message about to be stored: everything but the id the database gives it."""

    show_id: int
    user_id: int
    username: str
    message: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class StoredMessage:
    id: int
    show_id: int
    user_id: int
    username: str
    message: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class MessagePage:
    messages: list[StoredMessage]
    has_more: bool


class UserRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get(self, user_id: int) -> UserRecord | None:
        """The user with this id, or None."""
        async with self._engine.connect() as conn:
            row = (await conn.execute(
                select(User.id, User.username).where(User.id == user_id))).first()
        return UserRecord(row.id, row.username) if row else None

    async def by_username(self, username: str) -> UserRecord | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(
                select(User.id, User.username).where(User.username == username))).first()
        return UserRecord(row.id, row.username) if row else None


class ShowRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def exists(self, show_id: int) -> bool:
        async with self._engine.connect() as conn:
            return (await conn.execute(select(Show.id).where(Show.id == show_id))).first() is not None


class MessageRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add_many(self, drafts: list[MessageDraft]) -> list[StoredMessage]:
        """Insert the drafts in one transaction; returns them with their ids, in the same order."""
        statement = insert(ChatMessage).returning(ChatMessage.id, sort_by_parameter_order=True)
        rows = [{"show_id": d.show_id, "user_id": d.user_id, "message": d.message,
                 "created_at": d.created_at} for d in drafts]
        async with self._engine.begin() as conn:
            ids = (await conn.execute(statement, rows)).scalars().all()
        return [StoredMessage(id, d.show_id, d.user_id, d.username, d.message, d.created_at)
                for id, d in zip(ids, drafts)]

    async def page(self, show_id: int, *, limit: int, before_id: int | None = None) -> MessagePage:
        """The newest `limit` messages of a show (older than `before_id`), oldest first."""
        query = (_message_select().where(ChatMessage.show_id == show_id)
                 .order_by(ChatMessage.id.desc()).limit(limit + 1))
        if before_id is not None:
            query = query.where(ChatMessage.id < before_id)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        messages = [_stored(row) for row in rows[:limit]]
        messages.reverse()
        return MessagePage(messages, has_more=len(rows) > limit)


def _message_select():
    return select(ChatMessage.id, ChatMessage.show_id, ChatMessage.user_id, User.username,
                  ChatMessage.message, ChatMessage.created_at).join(User, User.id == ChatMessage.user_id)


def _stored(row) -> StoredMessage:
    return StoredMessage(row.id, row.show_id, row.user_id, row.username, row.message,
                         as_utc(row.created_at))


class CheckinRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def check_in(self, user_id: int, show_id: int, at: datetime) -> None:
        """Create the user's row for the show, or clear `checked_out_at` if they come back."""
        dialect = postgresql if self._engine.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(ShowCheckin).values(
            user_id=user_id, show_id=show_id, checked_in_at=at, checked_out_at=None)
        statement = statement.on_conflict_do_update(
            index_elements=[ShowCheckin.user_id, ShowCheckin.show_id],
            set_={"checked_out_at": None})
        async with self._engine.begin() as conn:
            await conn.execute(statement)

    async def check_out(self, user_id: int, show_ids: list[int], at: datetime) -> None:
        """Set `checked_out_at` on the user's rows for these shows."""
        if not show_ids:
            return
        statement = (update(ShowCheckin)
                     .where(ShowCheckin.user_id == user_id, ShowCheckin.show_id.in_(show_ids))
                     .values(checked_out_at=at))
        async with self._engine.begin() as conn:
            await conn.execute(statement)


async def ping(engine: AsyncEngine) -> None:
    """One round trip to the database; raises when it does not answer."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def is_empty(engine: AsyncEngine) -> bool:
    """True when there are neither users nor shows (a brand-new database)."""
    async with engine.connect() as conn:
        users = (await conn.execute(select(func.count()).select_from(User))).scalar_one()
        shows = (await conn.execute(select(func.count()).select_from(Show))).scalar_one()
    return users == 0 and shows == 0
