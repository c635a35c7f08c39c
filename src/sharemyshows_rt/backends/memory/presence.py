"""Presence for a single process, in plain dictionaries."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import islice

from ..presence import Departure, Member, Presence


@dataclass(slots=True)
class _Attendance:
    username: str
    sids: dict[str, None] = field(default_factory=dict)  # ordered set: oldest connection first


class MemoryPresence(Presence):
    """All state in this process: O(1) join, leave and membership checks."""

    def __init__(self) -> None:
        self._shows: dict[int, dict[int, _Attendance]] = {}
        self._by_sid: dict[str, tuple[int, set[int]]] = {}  # sid -> (user_id, show ids)

    async def join(self, show_id: int, user_id: int, username: str, sid: str) -> bool:
        users = self._shows.setdefault(show_id, {})
        attendance = users.get(user_id)
        first = attendance is None
        if attendance is None:
            attendance = users[user_id] = _Attendance(username)
        attendance.sids[sid] = None
        self._by_sid.setdefault(sid, (user_id, set()))[1].add(show_id)
        return first

    async def leave(self, show_id: int, sid: str) -> Departure | None:
        entry = self._by_sid.get(sid)
        if entry is None or show_id not in entry[1]:
            return None
        user_id, shows = entry
        shows.discard(show_id)
        if not shows:
            del self._by_sid[sid]
        users = self._shows[show_id]
        attendance = users[user_id]
        del attendance.sids[sid]
        last = not attendance.sids
        if last:
            del users[user_id]
            if not users:
                del self._shows[show_id]
        return Departure(show_id, user_id, attendance.username, last)

    def shows_of(self, sid: str) -> list[int]:
        entry = self._by_sid.get(sid)
        return sorted(entry[1]) if entry else []

    async def page(self, show_id: int, offset: int, limit: int) -> tuple[list[Member], int]:
        users = self._shows.get(show_id, {})
        listed = islice(users.items(), offset, offset + limit)
        return (
            [
                Member(user_id, attendance.username, next(iter(attendance.sids)))
                for user_id, attendance in listed
            ],
            len(users),
        )

    async def present_users(self, show_id: int, user_ids: list[int]) -> set[int]:
        users = self._shows.get(show_id, {})
        return {user_id for user_id in user_ids if user_id in users}

    async def is_member(self, show_id: int, sid: str) -> bool:
        entry = self._by_sid.get(sid)
        return entry is not None and show_id in entry[1]
