"""The repositories in one place (each lives in the module named for its table), and the
queries about the database as a whole. No rules here, only queries."""

from __future__ import annotations

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from .checkins import CheckinRepository, CheckinState
from .messages import MessageDraft, MessagePage, MessageRepository, Saved, StoredMessage
from .models import Show, User
from .shows import ShowRepository
from .users import UserRecord, UserRepository

__all__ = [
    "CheckinRepository",
    "CheckinState",
    "MessageDraft",
    "MessagePage",
    "MessageRepository",
    "Saved",
    "ShowRepository",
    "StoredMessage",
    "UserRecord",
    "UserRepository",
    "is_empty",
    "ping",
]


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
