"""The private internals of other libraries that the transport builds on, where each is used,
and the releases they were checked against. None of these names is a promise of its library:
a release outside `TESTED` may have moved any of them, so `serve` refuses it (`out_of_range`)
unless UPSTREAM_VERSION_CHECK=warn. Raising a range: scripts/upstream-canary, then scripts/lock."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version


@dataclass(frozen=True)
class Tested:
    """Releases `low` (included) to `below` (excluded); `checked`: the locked one the test
    suite passed with (requirements/test.txt). `low` is pyproject's floor, the oldest
    release scripts/upstream-canary passed with (with the other three at theirs)."""

    low: str
    below: str
    checked: str

    @property
    def spec(self) -> str:
        return f">={self.low},<{self.below}"

    def admits(self, release: str) -> bool:
        return _release(self.low) <= _release(release) < _release(self.below)


# Kept equal to pyproject.toml's ranges (tests/unit/test_upstream.py checks it).
TESTED: dict[str, Tested] = {
    "python-engineio": Tested("4.15.1", "4.16", "4.15.1"),
    "python-socketio": Tested("5.18.0", "5.19", "5.18.1"),
    "uvicorn": Tested("0.55", "0.56", "0.55.0"),
    "websockets": Tested("17.0", "18", "17.4"),
}


@dataclass(frozen=True)
class Internal:
    """One private name (or undocumented behaviour) of `package`, used in `modules`."""

    package: str
    name: str
    modules: str


ENGINEIO, SOCKETIO, UVICORN, WEBSOCKETS = TESTED
# Not version-checked: starlette's one is an import (gone, `serve` fails at start), and
# asyncio's are Python's (requires-python; the tests run on 3.11, the image on 3.12).
STARLETTE, PYTHON = "starlette", "python"
INTERNALS: tuple[Internal, ...] = (
    # python-engineio: the server
    Internal(
        ENGINEIO,
        "AsyncServer._async (the async driver's table: websocket, "
        "translate_request, make_response)",
        "transport/engineserver",
    ),
    Internal(
        ENGINEIO,
        "AsyncServer.sockets assigned in __init__ (wrapped as _Sockets), read by sid",
        "transport/engineserver, transport/backpressure, transport/broadcast, "
        "transport/chatserver, app",
    ),
    Internal(
        ENGINEIO,
        "AsyncServer.handlers, async_handlers read by the socket",
        "transport/enginesocket",
    ),
    Internal(ENGINEIO, "cors_allowed_origins called with (origin, environ)", "transport/origins"),
    Internal(ENGINEIO, "AsyncServer._service_task", "transport/engineserver"),
    Internal(ENGINEIO, "AsyncServer._bad_request", "transport/engineserver"),
    Internal(
        ENGINEIO,
        "AsyncServer.create_queue() called with no arguments for a socket's queue",
        "transport/engineserver",
    ),
    Internal(ENGINEIO, "AsyncServer.service_task_event, create_event()", "transport/enginesocket"),
    Internal(
        ENGINEIO,
        "async_drivers.asgi.translate_request's environ (replaced)",
        "transport/asgi_environ, transport/footprint",
    ),
    # python-engineio: the socket
    Internal(
        ENGINEIO,
        "async_socket.AsyncSocket made by the server, __class__ swapped",
        "transport/engineserver",
    ),
    Internal(
        ENGINEIO,
        "AsyncSocket.schedule_ping, last_ping, check_ping_timeout",
        "transport/enginesocket",
    ),
    Internal(ENGINEIO, "AsyncSocket.receive, _websocket_handler", "transport/enginesocket"),
    Internal(
        ENGINEIO,
        "AsyncSocket.connected, upgraded, upgrading, closing, closed, queue",
        "transport/enginesocket, transport/backpressure, transport/chatserver",
    ),
    Internal(
        ENGINEIO,
        "async_drivers.asgi.WebSocket (subclassed: __call__, send, close, "
        "asgi_receive; handler is the socket's bound _websocket_handler)",
        "transport/websocket, transport/enginesocket",
    ),
    Internal(
        ENGINEIO,
        "asgi environ 'asgi.send' is uvicorn's bound send (__self__)",
        "transport/websocket, transport/footprint",
    ),
    Internal(
        ENGINEIO, "packet.Packet instances take attributes (no __slots__)", "transport/websocket"
    ),
    # python-socketio: the server
    Internal(SOCKETIO, "AsyncServer._engineio_server_class", "transport/chatserver"),
    Internal(SOCKETIO, "AsyncServer._handle_connect", "transport/chatserver"),
    Internal(SOCKETIO, "AsyncServer._handle_event", "transport/chatserver"),
    Internal(SOCKETIO, "AsyncServer._handle_eio_disconnect", "transport/chatserver"),
    Internal(SOCKETIO, "AsyncServer._send_packet", "transport/chatserver"),
    Internal(
        SOCKETIO,
        "AsyncServer.environ, packet_class, manager_initialized",
        "transport/chatserver, transport/broadcast, transport/server",
    ),
    Internal(SOCKETIO, "packet.Packet.json, uses_binary_events", "transport/wire"),
    # python-socketio: the client manager
    Internal(
        SOCKETIO,
        "AsyncManager.basic_enter_room, basic_leave_room, basic_disconnect",
        "transport/broadcast",
    ),
    Internal(
        SOCKETIO,
        "AsyncManager.rooms layout {namespace: {room: {sid: eio_sid}}}",
        "transport/broadcast, transport/fanout",
    ),
    Internal(
        SOCKETIO,
        "AsyncManager.pending_connect, pending_disconnect, callbacks",
        "transport/broadcast",
    ),
    Internal(
        SOCKETIO,
        "AsyncManager.get_participants, sid_from_eio_sid, is_connected",
        "transport/broadcast, transport/chatserver",
    ),
    Internal(
        SOCKETIO, "AsyncRedisManager._handle_emit and its message layout", "transport/redis_manager"
    ),
    Internal(SOCKETIO, "AsyncRedisManager._publish", "transport/redis_manager"),
    Internal(
        SOCKETIO,
        "AsyncRedisManager._redis_listen_with_retries, _redis_connect, pubsub, channel",
        "transport/redis_manager",
    ),
    # uvicorn
    Internal(
        UVICORN,
        "protocols.http.httptools_impl.HttpToolsProtocol (handle_websocket_upgrade, parser)",
        "transport/http_protocol, serving",
    ),
    Internal(
        UVICORN,
        "websockets-sansio protocol: conn, writable, handshake_complete, "
        "close_sent, disconnected, transport",
        "transport/websocket",
    ),
    Internal(
        UVICORN,
        "websockets-sansio protocol: request, response (dropped after the handshake)",
        "transport/footprint",
    ),
    Internal(
        UVICORN,
        "supervisors.multiprocess.Process (replaced), Process._server, "
        "Multiprocess(config, sockets)",
        "serving",
    ),
    Internal(UVICORN, "Server.handle_exit, started, should_exit", "serving"),
    # websockets
    Internal(
        WEBSOCKETS, "ServerProtocol.extensions (through uvicorn's conn)", "transport/websocket"
    ),
    Internal(WEBSOCKETS, "http11.Request.headers kept by the parser", "transport/footprint"),
    # starlette and the standard library
    Internal(STARLETTE, "requests.cookie_parser (not exported)", "chat/auth"),
    Internal(
        PYTHON, "asyncio.Queue._getters, _putters, _finished, _queue", "transport/backpressure"
    ),
    Internal(PYTHON, "logging._srcfile", "logs"),
)


def out_of_range() -> list[str]:
    """One line per checked package whose installed release is outside `TESTED`."""
    problems = []
    for package, tested in TESTED.items():
        try:
            installed = version(package)
        except PackageNotFoundError:
            problems.append(f"{package} is not installed (tested {tested.spec})")
            continue
        if not tested.admits(installed):
            problems.append(f"{package} {installed} is outside the tested range {tested.spec}")
    return problems


def _release(text: str) -> tuple[int, ...]:
    """The release numbers of a version ("0.56.0rc1" -> (0, 56, 0)), trailing zeros cut so
    that "0.56" and "0.56.0" compare equal; a pre-release counts as its release."""
    numbers = []
    for part in text.split("."):
        digits = re.match(r"\d+", part)
        if digits is None:
            break
        numbers.append(int(digits.group()))
        if digits.end() < len(part):
            break
    while numbers and numbers[-1] == 0:
        numbers.pop()
    return tuple(numbers)
