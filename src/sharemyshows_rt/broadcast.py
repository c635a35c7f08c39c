"""The broadcast hot path. python-socketio's manager starts one asyncio task per recipient
and per packet; here a broadcast encodes its packet once, builds its WebSocket frame once,
and writes those same bytes straight to every websocket connection whose writer is idle
(the common case), or drops the packet into the recipient's send queue otherwise: no task
and no coroutine per recipient. Callbacks, binary payloads and everything else keep
python-socketio's own path."""

from __future__ import annotations

import struct
from typing import Any

import socketio
from engineio import packet as eio_packet
from socketio import packet


def websocket_text_frame(text: str) -> bytes:
    """An unfragmented, unmasked (server-to-client) WebSocket text frame (RFC 6455 5.2)."""
    payload = text.encode()
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x81, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x81, 126, size)
    else:
        header = struct.pack("!BBQ", 0x81, 127, size)
    return header + payload


def _direct(socket: Any) -> Any:
    """The transport of a websocket connection that may take a frame directly: its writer
    is idle on an empty queue (so nothing can be overtaken) and its transport is ready."""
    if not socket.upgraded or socket.upgrading or not socket.queue.idle:
        return None
    websocket = getattr(socket, "websocket", None)
    return websocket.transport_for_direct_write() if websocket is not None else None


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
        text = frame.encode()  # cached on the packet: encoded once for every recipient
        wire: bytes | None = None  # the WebSocket frame, built once too
        skip = set(skip_sid) if isinstance(skip_sid, list) else {skip_sid}
        sockets = self.server.eio.sockets
        for sid, eio_sid in self.get_participants(namespace, room):
            if sid in skip:
                continue
            socket = sockets.get(eio_sid)
            if socket is None or socket.closed:
                continue
            transport = _direct(socket)
            if transport is not None:
                if wire is None:
                    wire = websocket_text_frame(text)
                transport.write(wire)
            else:
                socket.queue.put_nowait(frame)
