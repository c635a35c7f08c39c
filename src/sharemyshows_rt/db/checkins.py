"""SQL for check-ins: when a user entered and left a show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from .models import ShowCheckin


@dataclass(frozen=True, slots=True)
class CheckinState:
    """Where a user stands with a show: checked in at, and checked out at (None: present)."""

    user_id: int
    show_id: int
    checked_in_at: datetime
    checked_out_at: datetime | None


class CheckinRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def record(self, states: list[CheckinState]) -> None:
        """Write each state in one statement: a missing row is created; an existing one
        keeps its `checked_in_at` and takes the new `checked_out_at`."""
        if not states:
            return
        dialect = postgresql if self._engine.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(ShowCheckin)
        statement = statement.on_conflict_do_update(
            index_elements=[ShowCheckin.user_id, ShowCheckin.show_id],
            set_={"checked_out_at": statement.excluded.checked_out_at},
        )
        rows = [
            {
                "user_id": s.user_id,
                "show_id": s.show_id,
                "checked_in_at": s.checked_in_at,
                "checked_out_at": s.checked_out_at,
            }
            for s in states
        ]
        async with self._engine.begin() as conn:
            await conn.execute(statement, rows)
