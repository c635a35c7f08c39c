"""Fan-out: getting events to one connection or to everyone in a show.

Backed by python-socketio's client manager, which is in-memory for one process and
Redis pub/sub when REDIS_URL is set; the chat rules only see its interface,
`delivery.rooms.Fanout`."""

from __future__ import annotations

from typing import Any

import socketio

NAMESPACE = "/"


def room_of(show_id: int) -> str:
    """The Socket.IO room holding a show's connections."""
    return f"show:{show_id}"


class SocketFanout:
    """`delivery.rooms.Fanout` over a python-socketio AsyncServer."""

    def __init__(self, server: socketio.AsyncServer) -> None:
        self._server = server

    async def enter(self, sid: str, show_id: int) -> None:
        await self._server.enter_room(sid, room_of(show_id))

    async def exit(self, sid: str, show_id: int) -> None:
        await self._server.leave_room(sid, room_of(show_id))

    async def to_show(
        self, event: str, data: Any, show_id: int, skip: str | list[str] | None = None
    ) -> None:
        """Everyone in the show's room, except the `skip` connection(s)."""
        await self._server.emit(event, data, room=room_of(show_id), skip_sid=skip)

    async def to_show_here(
        self, event: str, items: list[tuple[Any, list[str] | None]], show_id: int
    ) -> None:
        """`event` once per `(data, skip)` item, in order, to the show's members connected
        to this process only (the others deliver their own), each except its `skip`
        connections; a member gets them all in one write."""
        await self._server.manager.emit_each(event, items, NAMESPACE, room_of(show_id))

    def room_size(self, show_id: int) -> int:
        """Connections in the show on this process."""
        return len(self._server.manager.rooms.get(NAMESPACE, {}).get(room_of(show_id), ()))

    def local_shows(self) -> list[int]:
        """Shows with members connected to this process."""
        return list(self.room_sizes())

    def room_sizes(self) -> dict[int, int]:
        """Connections per show on this process."""
        rooms = self._server.manager.rooms.get("/", {})
        return {
            int(room[5:]): len(members)
            for room, members in list(rooms.items())
            if isinstance(room, str) and room.startswith("show:")
        }

    async def to_connection(self, event: str, data: Any, sid: str) -> None:
        """A connection of this process (never through Redis)."""
        await self._server.emit(event, data, to=sid, ignore_queue=True)
