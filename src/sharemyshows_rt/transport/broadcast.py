"""The broadcast hot path. python-socketio's manager starts one asyncio task per recipient
and per packet; here a broadcast encodes its packet once and hands that one packet to every
recipient's send queue, which writes its one WebSocket frame (built once, `websocket.frame_of`)
straight to the connection: no task and no coroutine per recipient. Emits with a callback,
or to a namespace nobody joined, keep python-socketio's own path. Payloads are JSON: the
server never sends binary attachments."""

from __future__ import annotations

from typing import Any

import socketio
from engineio import packet as eio_packet
from socketio import packet

from .websocket import frame_of

AT_ONCE = 8  # members per message in a group from which they are written at once


class _Sids(dict):
    """The list python-socketio keeps of a namespace's connecting (or disconnecting) sids,
    as an ordered dict: it asks `sid in pending` for every event, and a list made that a
    scan of all the connections being set up, thousands in a storm of fans."""

    def append(self, sid: str) -> None:
        self[sid] = None

    def remove(self, sid: str) -> None:
        del self[sid]


class _PendingByNamespace(dict):
    def __setitem__(self, namespace: str, sids: Any) -> None:
        super().__setitem__(namespace, _Sids.fromkeys(sids))


class _Pending:
    """A manager attribute (`pending_connect`, `pending_disconnect`) kept as
    `_PendingByNamespace`, whatever python-socketio assigns to it."""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = "_" + name

    def __get__(self, manager: Any, owner: type | None = None) -> Any:
        if manager is None:
            return self
        try:
            return manager.__dict__[self._name]
        except KeyError:
            raise AttributeError(self._name[1:]) from None

    def __set__(self, manager: Any, pending: dict[str, Any]) -> None:
        converted = _PendingByNamespace()
        for namespace, sids in pending.items():
            converted[namespace] = sids
        manager.__dict__[self._name] = converted


class FastBroadcast(socketio.AsyncManager):
    """An AsyncManager whose emit to many recipients is one encode plus a queue put each,
    and whose connecting and disconnecting sids, and each sid's rooms, are found without a
    scan."""

    pending_connect = _Pending()
    pending_disconnect = _Pending()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # (namespace, sid) -> its rooms, in the order entered. python-socketio finds a sid's
        # rooms by asking every room of the namespace, each connection's own room included:
        # a mass disconnect would cost connections x rooms lookups.
        self._rooms_of: dict[tuple[str, str], dict[Any, None]] = {}
        super().__init__(*args, **kwargs)

    def basic_enter_room(
        self, sid: str, namespace: str, room: Any, eio_sid: str | None = None
    ) -> None:
        super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)
        self._rooms_of.setdefault((namespace, sid), {})[room] = None

    def basic_leave_room(self, sid: str, namespace: str, room: Any) -> None:
        super().basic_leave_room(sid, namespace, room)
        rooms = self._rooms_of.get((namespace, sid))
        if rooms is not None:
            rooms.pop(room, None)
            if not rooms:
                del self._rooms_of[namespace, sid]

    def basic_disconnect(self, sid: str, namespace: str, **kwargs: Any) -> None:
        """python-socketio's, with the sid's rooms taken from the index."""
        if namespace not in self.rooms:
            return
        for room in list(self._rooms_of.get((namespace, sid), ())):
            self.basic_leave_room(sid, namespace, room)
        self.callbacks.pop(sid, None)
        for pending in (self.pending_connect, self.pending_disconnect):
            sids = pending.get(namespace)
            if sids is not None and sid in sids:
                sids.remove(sid)
                if not sids:
                    del pending[namespace]

    def get_rooms(self, sid: str, namespace: str) -> list[Any]:
        """The rooms a client is in, its own sid room included, as python-socketio's."""
        return [room for room in self._rooms_of.get((namespace, sid), ()) if room is not None]

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        room = to or room
        if callback is not None or namespace not in self.rooms:
            return await super().emit(
                event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, **kwargs
            )
        if isinstance(data, tuple):
            args = list(data)
        elif data is not None:
            args = [data]
        else:
            args = []
        pkt = self._packet(event, args, namespace)
        skip = set(skip_sid) if isinstance(skip_sid, list) else {skip_sid}
        sockets = self.server.eio.sockets
        # A room of one (a connection's own: a reply) is written before the crowds.
        members = self.rooms[namespace].get(room) if isinstance(room, str) else None
        alone = members is not None and len(members) == 1
        for sid, eio_sid in self.get_participants(namespace, room):
            if sid in skip:
                continue
            socket = sockets.get(eio_sid)
            if socket is not None and not socket.closed:
                socket.queue.put_nowait(pkt, alone)

    async def emit_each(
        self, event: str, items: list[tuple[Any, list[str] | None]], namespace: str, room: str
    ) -> None:
        """Emit `event` once per `(data, skip_sids)` item to a room, in order; each member
        gets its packets in one put (a group commit's messages to one show)."""
        if namespace not in self.rooms:
            return
        packets = [self._packet(event, [data], namespace) for data, _ in items]
        joined = b"".join(map(frame_of, packets))  # one write for them all
        skips = [frozenset(skip or ()) for _, skip in items]
        skipping = any(skips)  # joiners whose history already holds some of these (rare)
        sockets = self.server.eio.sockets
        members = self.rooms[namespace].get(room) or ()
        # A crowd: few of its members sent one of these messages and will have an ack to
        # share the write with a turn later; the others are written at once, not held by
        # the outbox for a turn or two.
        at_once = len(members) >= AT_ONCE * len(items)
        for sid, eio_sid in self.get_participants(namespace, room):
            socket = sockets.get(eio_sid)
            if socket is None or socket.closed:
                continue
            if skipping and any(sid in skip for skip in skips):
                mine = [pkt for pkt, skip in zip(packets, skips) if sid not in skip]
                if mine:
                    socket.queue.put_many_nowait(mine, b"".join(map(frame_of, mine)), at_once)
            else:
                socket.queue.put_many_nowait(packets, joined, at_once)

    def _packet(self, event: str, args: list[Any], namespace: str) -> eio_packet.Packet:
        """The engine.io packet of a Socket.IO event, encoded once for every recipient."""
        # binary=False: our payloads are JSON, and finding that out walks the whole payload
        # (with it, encode() always gives one string: no attachments to send apart).
        encoded = self.server.packet_class(
            packet.EVENT, namespace=namespace, data=[event, *args], binary=False
        ).encode()
        return eio_packet.Packet(eio_packet.MESSAGE, encoded)
