"""The Socket.IO transport: authenticate the handshake, parse each event's payload, call the
chat service, and turn every failure into the `error` event and the acknowledgement."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import socketio

from .. import logs, metrics
from ..backends.limits import ConnectionCap
from ..chat.auth import Authenticator
from ..chat.limits import admit_connection, history_page_size
from ..chat.moderation import Moderation
from ..chat.mutes import set_muted
from ..chat.service import ChatService
from ..errors import ChatError, ServiceUnavailable, UnknownEvent, from_exception
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
from .fanout import NAMESPACE
from .moderation_events import moderation_events

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
        moderation: Moderation,
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
            **moderation_events(moderation, lambda sid: self._chat.identity(sid)),
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
