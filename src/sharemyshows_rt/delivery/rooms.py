"""What the chat rules and the delivery see of the transport: rooms per show, emits to a
show or to one connection, and room sizes on this process. transport/fanout.py implements
it over python-socketio; nothing below the transport imports the network libraries."""

from __future__ import annotations

from typing import Any, Protocol


class Fanout(Protocol):
    """Getting events to one connection (identified by its sid) or to everyone in a show."""

    async def enter(self, sid: str, show_id: int) -> None:
        """Put the connection in the show's room."""

    async def exit(self, sid: str, show_id: int) -> None:
        """Take the connection out of the show's room."""

    async def to_show(
        self, event: str, data: Any, show_id: int, skip: str | list[str] | None = None
    ) -> None:
        """Everyone in the show's room (on every process), except the `skip` connection(s)."""

    async def to_show_here(
        self, event: str, items: list[tuple[Any, list[str] | None]], show_id: int
    ) -> None:
        """`event` once per `(data, skip)` item, in order, to the show's members connected
        to this process only, each except its `skip` connections."""

    def room_size(self, show_id: int) -> int:
        """Connections in the show on this process."""

    def local_shows(self) -> list[int]:
        """Shows with members connected to this process."""

    def room_sizes(self) -> dict[int, int]:
        """Connections per show on this process."""

    async def to_connection(self, event: str, data: Any, sid: str) -> None:
        """A connection of this process (never through another process)."""
