"""The broadcast hot path. python-socketio's manager starts one asyncio task per recipient
and per packet; here a broadcast encodes its frame once and drops that same frame into
each recipient's send queue, with no task and no coroutine per recipient. Callbacks,
binary payloads and everything else keep python-socketio's own path."""

from __future__ import annotations

from typing import Any

import socketio
from engineio import packet as eio_packet
from socketio import packet


class FastBroadcast(socketio.AsyncManager):
    """An AsyncManager whose emit to many recipients is one encode plus a queue put each."""

    async def emit(self, event: str, data: Any, namespace: str, room: Any = None,
                   skip_sid: Any = None, callback: Any = None, to: Any = None,
                   **kwargs: Any) -> None:
        room = to or room
        if callback is not None or namespace not in self.rooms:
            return await super().emit(event, data, namespace, room=room, skip_sid=skip_sid,
                                      callback=callback, **kwargs)
        if isinstance(data, tuple):
            args = list(data)
        elif data is not None:
            args = [data]
        else:
            args = []
        # binary=False: our payloads are JSON, and finding that out walks the whole payload.
        encoded = self.server.packet_class(packet.EVENT, namespace=namespace,
                                           data=[event, *args], binary=False).encode()
        if isinstance(encoded, list):  # binary attachments: not our business
            return await super().emit(event, data, namespace, room=room, skip_sid=skip_sid,
                                      **kwargs)
        frame = eio_packet.Packet(eio_packet.MESSAGE, encoded)
        frame.encode()  # cached on the packet: encoded once for every recipient
        skip = set(skip_sid) if isinstance(skip_sid, list) else {skip_sid}
        sockets = self.server.eio.sockets
        for sid, eio_sid in self.get_participants(namespace, room):
            if sid in skip:
                continue
            socket = sockets.get(eio_sid)
            if socket is not None and not socket.closed:
                socket.queue.put_nowait(frame)
