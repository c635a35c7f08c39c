"""SQL for shows: whether one exists."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from .models import Show


class ShowRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def exists(self, show_id: int) -> bool:
        async with self._engine.connect() as conn:
            return (
                await conn.execute(select(Show.id).where(Show.id == show_id))
            ).first() is not None
