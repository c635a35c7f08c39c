"""SQL for users: looked up by id or username, created on a development login."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from .models import User


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: int
    username: str


class UserRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get_many(self, user_ids: list[int]) -> dict[int, UserRecord]:
        """The users with these ids that exist."""
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(select(User.id, User.username).where(User.id.in_(user_ids)))
            ).all()
        return {row.id: UserRecord(row.id, row.username) for row in rows}

    async def get_or_create(self, username: str) -> UserRecord:
        """The user with this username, created if there is none (development logins)."""
        existing = await self.by_username(username)
        if existing is not None:
            return existing
        dialect = postgresql if self._engine.dialect.name == "postgresql" else sqlite
        async with self._engine.begin() as conn:
            await conn.execute(
                dialect.insert(User)
                .values(username=username)
                .on_conflict_do_nothing(index_elements=[User.username])
            )
        created = await self.by_username(username)
        assert created is not None
        return created

    async def by_username(self, username: str) -> UserRecord | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(select(User.id, User.username).where(User.username == username))
            ).first()
        return UserRecord(row.id, row.username) if row else None
