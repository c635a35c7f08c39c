"""A chat participant: python-socketio's real AsyncClient, recording every event it receives."""

import asyncio
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import aiohttp
import socketio

from .expect import acked_message
from .settings import COOKIE_NAME, TIMEOUT

Match = Callable[[Any], bool]


def anything(_data: Any) -> bool:
    return True


def for_show(show_id: int) -> Match:
    """Payloads about one show."""
    return lambda data: isinstance(data, dict) and data.get("show_id") == show_id


def about(user) -> Match:
    """Payloads about one user (user_joined, user_left, user_typing, new_message)."""
    return lambda data: isinstance(data, dict) and data.get("user_id") == user.id


class ChatClient:
    """One Socket.IO connection; `events` holds everything the server sent, in order."""

    def __init__(self, base_url: str, *, transport: str = "websocket"):
        self.base_url = base_url
        self.transport = transport
        self.events: list[tuple[str, Any]] = []
        self._arrived = asyncio.Event()
        self._http = aiohttp.ClientSession()  # its own cookie jar, closed by close()
        self.sio = socketio.AsyncClient(
            reconnection=False, handle_sigint=False, http_session=self._http
        )
        self.sio.on("*", self._on_event)
        self.sio.on("connect_error", self._on_connect_error)
        self.sio.on("disconnect", self._on_disconnect)

    # ------------------------------------------------------------------ recording

    async def _on_event(self, event: str, *args: Any) -> None:
        self._record(event, args[0] if len(args) == 1 else list(args))

    async def _on_connect_error(self, data: Any = None) -> None:
        self._record("connect_error", data)

    async def _on_disconnect(self, *_reason: Any) -> None:
        self._record("disconnect", None)

    def _record(self, event: str, data: Any) -> None:
        self.events.append((event, data))
        self._arrived.set()

    def mark(self) -> int:
        """A position in `events`, to look only at what arrives after now."""
        return len(self.events)

    def received(self, event: str, where: Match = anything, since: int = 0) -> list:
        return [data for name, data in self.events[since:] if name == event and where(data)]

    def names(self, since: int = 0) -> list[str]:
        return [name for name, _ in self.events[since:]]

    async def wait_for(
        self, event: str, where: Match = anything, *, since: int = 0, timeout: float = TIMEOUT
    ) -> Any:
        """The first `event` after `since` matching `where`, waiting at most `timeout`."""
        await self.wait_until(
            lambda: self.received(event, where, since),
            timeout=timeout,
            what=f"matching {event!r}",
            since=since,
        )
        return self.received(event, where, since)[0]

    async def wait_until(
        self,
        condition: Callable[[], Any],
        *,
        timeout: float = TIMEOUT,
        what: str = "condition",
        since: int = 0,
    ) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition():
            remaining = deadline - loop.time()
            if remaining <= 0:
                seen = ", ".join(self.names(since)[-20:]) or "nothing"
                raise AssertionError(f"no {what} within {timeout}s; received: {seen}")
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except TimeoutError:
                pass

    # ------------------------------------------------------------------ connection

    async def connect(
        self,
        *,
        auth: str | None = None,
        query: str | None = None,
        cookie: str | None = None,
        raw_cookie: str | None = None,
        headers: dict | None = None,
        timeout: float = TIMEOUT,
    ) -> None:
        """Connect with a token in the auth payload, the `token` query parameter or the
        cookie (`raw_cookie`: the whole Cookie header as given)."""
        url = f"{self.base_url}?token={quote(query)}" if query is not None else self.base_url
        headers = dict(headers or {})
        if cookie is not None:
            headers["Cookie"] = f"{COOKIE_NAME}={cookie}"
        if raw_cookie is not None and self.transport == "websocket":
            # python-engineio re-parses a Cookie header for the WebSocket (and drops every
            # cookie when one is malformed); its extra options pass the header untouched.
            self.sio.eio.websocket_extra_options = {"headers": {"Cookie": raw_cookie}}
        elif raw_cookie is not None:
            headers["Cookie"] = raw_cookie
        await self.sio.connect(
            url,
            auth={"token": auth} if auth is not None else None,
            headers=headers,
            transports=[self.transport],
            wait_timeout=timeout,
        )

    async def refused(self, **how: Any) -> Any:
        """Connect (arguments as for connect) expecting a refusal; what connect_error carried."""
        try:
            await self.connect(**how)
        except socketio.exceptions.ConnectionError:
            return await self.wait_for("connect_error", timeout=1)
        raise AssertionError("the server accepted a connection it should have refused")

    @property
    def connected(self) -> bool:
        return self.sio.connected

    @property
    def sid(self) -> str:
        return self.sio.get_sid()

    async def close(self) -> None:
        try:
            if self.sio.connected:
                await asyncio.wait_for(self.sio.disconnect(), TIMEOUT)
        finally:
            await self._http.close()

    async def drop(self) -> None:
        """Cut the websocket without a goodbye, as a lost network would."""
        assert self.transport == "websocket", "drop() needs the websocket transport"
        await self.sio.eio.ws.close()
        await self.wait_for("disconnect")

    # ------------------------------------------------------------------ talking

    async def emit(self, event: str, data: Any = None) -> None:
        """Send an event; a tuple sends several arguments, None none."""
        await self.sio.emit(event, data)

    async def call(self, event: str, data: Any = None, timeout: float = TIMEOUT) -> Any:
        """Send an event asking for an ack; returns the ack."""
        return await self.sio.call(event, data, timeout=timeout)

    async def join(self, show_id: int) -> tuple[dict, dict]:
        """join_show, acknowledged; the `message_history` and `active_users` that followed."""
        since = self.mark()
        ack = await self.call("join_show", {"show_id": show_id})
        assert isinstance(ack, dict) and ack.get("ok") is True, f"join_show {show_id}: {ack}"
        history = await self.wait_for("message_history", for_show(show_id), since=since)
        active = await self.wait_for("active_users", for_show(show_id), since=since)
        return history, active

    async def leave(self, show_id: int) -> None:
        ack = await self.call("leave_show", {"show_id": show_id})
        assert isinstance(ack, dict) and ack.get("ok") is True, f"leave_show {show_id}: {ack}"

    async def say(self, show_id: int, message: str) -> dict:
        """send_message, acknowledged; the `new_message` echo this connection got for it."""
        since = self.mark()
        ack = await self.call("send_message", {"show_id": show_id, "message": message})
        saved_id = acked_message(ack)["id"]
        return await self.wait_for(
            "new_message", lambda data: data.get("id") == saved_id, since=since
        )

    async def active_users(self, show_id: int) -> dict:
        """get_active_users and its `active_users` answer.

        Also a barrier: a connection delivers in order, so once the answer is in, everything
        the server sent this connection before handling the question is in too."""
        since = self.mark()
        await self.emit("get_active_users", {"show_id": show_id})
        return await self.wait_for("active_users", for_show(show_id), since=since)
