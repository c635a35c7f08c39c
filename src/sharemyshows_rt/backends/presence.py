"""The presence interface: per-user membership of shows, counted over a user's connections."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Member:
    """A user present in a show, with the sid of one of their connections there."""

    user_id: int
    username: str
    sid: str


@dataclass(frozen=True, slots=True)
class Departure:
    """A connection left a show; `last` is True when it was the user's last one there."""

    show_id: int
    user_id: int
    username: str
    last: bool


class Presence(ABC):
    """Membership of connections in shows. A user is present while any of their
    connections is; `join` and `leave` report the first arrival and the last departure."""

    @abstractmethod
    async def join(self, show_id: int, user_id: int, username: str, sid: str) -> bool:
        """Add the connection to the show; True when it is the user's first connection there."""

    @abstractmethod
    async def leave(self, show_id: int, sid: str) -> Departure | None:
        """Remove the connection from the show; None when it was not there."""

    @abstractmethod
    def shows_of(self, sid: str) -> list[int]:
        """The shows this process's connection is in."""

    async def leave_all(self, sid: str) -> list[Departure]:
        """Remove the connection from every show it is in (it disconnected)."""
        departures = []
        for show_id in self.shows_of(sid):
            departure = await self.leave(show_id, sid)
            if departure is not None:
                departures.append(departure)
        return departures

    @abstractmethod
    async def page(self, show_id: int, offset: int, limit: int) -> tuple[list[Member], int]:
        """Users present in the show, each once, in order of arrival: `limit` of them from
        `offset`, and how many there are in all."""

    @abstractmethod
    async def present_users(self, show_id: int, user_ids: list[int]) -> set[int]:
        """Which of these users have a connection in the show now (on any process)."""

    @abstractmethod
    async def is_member(self, show_id: int, sid: str) -> bool:
        """True when this connection has joined the show and not left it."""

    async def close(self) -> None:
        """Release whatever the implementation holds."""
