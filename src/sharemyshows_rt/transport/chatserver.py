"""The Socket.IO server: greets each connection after its handshake, routes client events
straight to the chat namespace, refuses floods and non-events, bounds each send queue."""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

import socketio
from socketio import packet

from .. import metrics
from ..backends.memory.limits import TokenBucket
from ..chat.limits import RESERVED_EVENTS, flood_bucket
from ..errors import InvalidPayload, UnknownEvent
from .admission import HandshakeGate
from .engineserver import BoundedEngineServer
from .fanout import NAMESPACE
from .footprint import shed_handshake
from .namespace import ChatNamespace

log = logging.getLogger(__name__)


class ChatServer(socketio.AsyncServer):
    """An AsyncServer that greets each connection after its handshake, refuses events that
    are not events (reserved names, non-string names, empty packets), disconnects a
    connection flooding it with events, and bounds each connection's send queue."""

    _chat_namespace: ChatNamespace

    def __init__(
        self,
        *,
        events_per_second: int = 100,
        send_queue_limit: int = 500,
        handshakes: HandshakeGate | None = None,
        **options: Any,
    ) -> None:
        # A peer that does not read for as long as the heartbeat allows is gone.
        options.setdefault("send_timeout", options.get("ping_timeout", 20.0))
        super().__init__(**options)
        self.eio.send_queue_limit = send_queue_limit
        self._events_per_second = events_per_second
        self._flood: dict[str, TokenBucket] = {}
        self.handshakes = handshakes  # bounds the Socket.IO CONNECTs handled at once

    def _engineio_server_class(self) -> type:
        return BoundedEngineServer

    def bind(self, namespace: ChatNamespace) -> None:
        """Register the chat namespace (made after the server, which it emits through)."""
        self._chat_namespace = namespace
        self.register_namespace(namespace)

    async def _handle_connect(self, eio_sid: str, namespace: str | None, data: Any) -> None:
        async with self.handshakes.step() if self.handshakes else contextlib.nullcontext():
            await super()._handle_connect(eio_sid, namespace, data)
        namespace = namespace or NAMESPACE
        sid = self.manager.sid_from_eio_sid(eio_sid, namespace)
        if namespace == NAMESPACE and sid is not None and self.manager.is_connected(sid, namespace):
            environ = self.environ.get(eio_sid)
            if environ is not None:
                shed_handshake(environ)
            await self._chat_namespace.greet(sid)

    def _flooding(self, eio_sid: str) -> bool:
        now = time.monotonic()
        bucket = self._flood.get(eio_sid)
        if bucket is None:
            rate = self._events_per_second
            bucket = self._flood[eio_sid] = flood_bucket(rate, now)
        return bucket.take(now) > 0

    async def _handle_eio_disconnect(self, eio_sid: str, reason: Any) -> None:
        self._flood.pop(eio_sid, None)
        await super()._handle_eio_disconnect(eio_sid, reason)
        socket = self.eio.sockets.get(eio_sid)
        if reason == self.reason.CLIENT_DISCONNECT and socket is not None and not socket.upgraded:
            # engine.io leaves a polling client's pending GET open until the next ping
            # (25 s) after the client said goodbye; answer it now.
            socket.queue.put_nowait(None)

    async def _handle_event(
        self, eio_sid: str, namespace: str | None, id: int | None, data: Any
    ) -> None:
        namespace = namespace or NAMESPACE
        sid = self.manager.sid_from_eio_sid(eio_sid, namespace)
        if sid is None or not self.manager.is_connected(sid, namespace):
            return
        if self._flooding(eio_sid):
            metrics.RATE_LIMITED.labels("events").inc()
            log.warning(
                "disconnecting sid=%s: more than %d events a second", sid, self._events_per_second
            )
            await self.disconnect(sid, namespace=namespace)
            return
        if (
            isinstance(data, list)
            and data
            and isinstance(data[0], str)
            and data[0] not in RESERVED_EVENTS
        ):
            # The chat namespace routes its events itself: straight to it (python-socketio's
            # own path looks up a handler for the event, then the namespace, per event).
            ack = await self._chat_namespace.handle(sid, data[0], tuple(data[1:]))
        else:
            name = data[0] if isinstance(data, list) and data and isinstance(data[0], str) else ""
            error = (
                UnknownEvent(f"{name!r} is reserved") if name else InvalidPayload("no event name")
            )
            ack = await self._chat_namespace.refuse(sid, name, error)
        if id is not None:
            await self._send_packet(
                eio_sid, self.packet_class(packet.ACK, namespace=namespace, id=id, data=[ack])
            )
