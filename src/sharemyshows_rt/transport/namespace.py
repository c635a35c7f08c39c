"""The Socket.IO transport: authenticate the handshake, parse each event's payload, call the
chat service, and turn every failure into the `error` event and the acknowledgement."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import socketio
from socketio import packet

from .. import logs, metrics
from ..backends.limits import ConnectionCap
from ..backends.memory.limits import TokenBucket
from ..chat.auth import Authenticator
from ..chat.limits import RESERVED_EVENTS, admit_connection, flood_bucket
from ..chat.mutes import set_muted
from ..chat.service import ChatService, history_page_size
from ..errors import ChatError, InvalidPayload, ServiceUnavailable, UnknownEvent, from_exception
from ..push.service import PushService
from ..schemas import (
    Connected,
    GetActiveUsers,
    GetMessageHistory,
    Incoming,
    JoinShow,
    LeaveShow,
    MessageOut,
    MessagePageOut,
    MuteShow,
    SendMessage,
    Typing,
    parse,
)
from ..schemas.limits import EVENT_NAME_ECHO_MAX
from .admission import HandshakeGate
from .engineserver import BoundedEngineServer
from .fanout import NAMESPACE
from .footprint import shed_handshake

log = logging.getLogger(__name__)
Ack = dict[str, Any]
Handler = Callable[[str, Any], Awaitable[Ack]]


class ChatNamespace(socketio.AsyncNamespace):
    """Thin handlers: one per client event, each `payload model -> service call -> ack`."""

    def __init__(
        self,
        chat: ChatService,
        authenticator: Authenticator,
        cap: ConnectionCap,
        max_connections_per_user: int,
        history_limit: int,
        push: PushService,
    ) -> None:
        super().__init__(NAMESPACE)
        self._chat = chat
        self._push = push
        self._auth = authenticator
        self._cap = cap
        self._max_connections = max_connections_per_user
        self._history_limit = history_page_size(history_limit)
        self.accepting = True
        self._events: dict[str, tuple[type[Incoming], Handler]] = {
            "join_show": (JoinShow, self._join_show),
            "leave_show": (LeaveShow, self._leave_show),
            "send_message": (SendMessage, self._send_message),
            "typing": (Typing, self._typing),
            "get_active_users": (GetActiveUsers, self._get_active_users),
            "get_message_history": (GetMessageHistory, self._get_message_history),
            "mute_show": (MuteShow, self._mute_show),
            "unmute_show": (MuteShow, self._unmute_show),
        }

    async def trigger_event(self, event: str, *args: Any) -> Any:
        # Routing is ours: the server only lets connect/disconnect reach here from itself.
        if event == "connect":
            return await self.on_connect(*args)
        if event == "disconnect":
            return await self.on_disconnect(*args)
        sid, payload = args[0], args[1:]
        return await self.handle(sid, event, payload)

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        try:
            if not self.accepting:
                raise ServiceUnavailable("this server is shutting down; connect again")
            identity = await self._auth.identify(self._auth.socket_token(auth, environ))
            await admit_connection(self._cap, identity.user_id, sid, self._max_connections)
        except ChatError as exc:
            logs.event(log, "refused", sid=sid, error=exc.message, reason=exc.details)
            raise socketio.exceptions.ConnectionRefusedError(exc.message) from None
        except Exception as exc:
            log.exception("connection %s refused: authentication failed", sid)
            raise socketio.exceptions.ConnectionRefusedError(from_exception(exc).message) from None
        self._chat.connected(sid, identity)
        metrics.CONNECTIONS.inc()
        logs.event(log, "connect", sid=sid, user=identity.user_id)

    async def greet(self, sid: str) -> None:
        """`connected`, sent once the handshake is complete."""
        identity = self._chat.identity(sid)
        greeting = Connected(username=identity.username, user_id=identity.user_id)
        await self._reply(sid, "connected", greeting.model_dump())

    async def _reply(self, sid: str, event: str, data: Any) -> None:
        # The connection is on this process: no need to go through Redis to reach it.
        await self.emit(event, data, to=sid, ignore_queue=True)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        identity = self._chat.identity(sid) if self._chat.has(sid) else None
        try:
            await self._chat.disconnected(sid)
        except Exception:
            log.exception("disconnect of %s was not handled cleanly", sid)
        finally:
            if identity is not None:
                metrics.CONNECTIONS.dec()
                await self._cap.release(identity.user_id, sid)
        logs.event(
            log, "disconnect", sid=sid, user=identity.user_id if identity else None, reason=reason
        )

    async def handle(self, sid: str, event: str, args: tuple[Any, ...]) -> Ack:
        """Run one client event; failures become an `error` event and a failed ack."""
        label = metrics.event_label(event)
        metrics.labelled(metrics.EVENTS, label).inc()
        with metrics.timed(metrics.HANDLER_SECONDS, label):
            try:
                if self._chat.has(sid):
                    # A user deleted while connected is refused (looked up again at most
                    # once per USER_CACHE_SECONDS, in the background).
                    self._auth.require_user(self._chat.identity(sid).user_id)
                route = self._events.get(event)
                if route is None:
                    raise UnknownEvent(f"{event!r} is not an event of this server")
                model, handler = route
                return await handler(sid, parse(model, args))
            except Exception as exc:
                return await self.refuse(sid, event, exc)

    async def refuse(self, sid: str, event: str, exc: Exception) -> Ack:
        """The one place a failure is reported: `error` to the connection, and the ack."""
        error = exc if isinstance(exc, ChatError) else from_exception(exc)
        metrics.count_error(error)
        identity = self._chat.identity(sid) if self._chat.has(sid) else None
        user_id = identity.user_id if identity else None
        if not isinstance(exc, ChatError):
            log.error(
                "event %r from sid=%s user=%s failed: %r", event, sid, user_id, exc, exc_info=exc
            )
        logs.event(
            log, "error", sid=sid, user=user_id, event=printable(event)[:64], error=error.message
        )
        try:
            await self._reply(sid, "error", error.event_payload(printable(event)))
        except Exception:
            log.exception("could not send the error for %r to %s", event, sid)
        return error.ack()

    # ------------------------------------------------------------------ events

    async def _join_show(self, sid: str, payload: JoinShow) -> Ack:
        await self._chat.join(sid, payload.show_id, payload.last_message_id)
        return {"ok": True, "show_id": payload.show_id}

    async def _leave_show(self, sid: str, payload: LeaveShow) -> Ack:
        await self._chat.leave(sid, payload.show_id)
        return {"ok": True, "show_id": payload.show_id}

    async def _send_message(self, sid: str, payload: SendMessage) -> Ack:
        message = await self._chat.send(
            sid, payload.show_id, payload.message, payload.client_msg_id
        )
        return {"ok": True, "message": message}

    async def _typing(self, sid: str, payload: Typing) -> Ack:
        sent = await self._chat.typing(sid, payload.show_id, payload.is_typing)
        return {"ok": True, "show_id": payload.show_id, "dropped": not sent}

    async def _mute_show(self, sid: str, payload: MuteShow) -> Ack:
        await set_muted(
            self._chat, self._push, self._chat.identity(sid).user_id, payload.show_id, True
        )
        return {"ok": True, "show_id": payload.show_id, "muted": True}

    async def _unmute_show(self, sid: str, payload: MuteShow) -> Ack:
        await set_muted(
            self._chat, self._push, self._chat.identity(sid).user_id, payload.show_id, False
        )
        return {"ok": True, "show_id": payload.show_id, "muted": False}

    async def _get_message_history(self, sid: str, payload: GetMessageHistory) -> Ack:
        page = await self._chat.history(
            payload.show_id, limit=payload.limit or self._history_limit, before_id=payload.before_id
        )
        body = MessagePageOut(
            show_id=payload.show_id,
            has_more=page.has_more,
            messages=[MessageOut.of(m) for m in page.messages],
        ).model_dump()
        body["before_id"] = payload.before_id
        await self._reply(sid, "message_history", body)
        return {"ok": True, **body}

    async def _get_active_users(self, sid: str, payload: GetActiveUsers) -> Ack:
        await self._chat.require_show(payload.show_id)
        users = await self._chat.active_users(payload.show_id, payload.offset, payload.limit)
        users["offset"] = payload.offset
        await self._reply(sid, "active_users", users)
        return {"ok": True, **users}


def printable(name: str) -> str:
    """A client's event name as it can be echoed back: valid UTF-8, not too long
    (EVENT_NAME_ECHO_MAX)."""
    return name[:EVENT_NAME_ECHO_MAX].encode("utf-8", "replace").decode("utf-8")


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
