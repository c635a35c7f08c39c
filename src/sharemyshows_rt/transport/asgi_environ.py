"""The environ engine.io builds from an ASGI request, without building a class per request.

python-engineio's `translate_request` defines its request-body class inside the function:
every request, every websocket handshake of a storm of fans, made a new class (48 us, and a
cycle of a dozen objects for the garbage collector, kept for the connection's life). This is
the same environ, with the body class defined once."""

from __future__ import annotations

import sys
from typing import Any

_FIRST_EVENTS = ("http.request", "websocket.connect")


class RequestBody:
    """`wsgi.input`: the request body, read from the ASGI events as engine.io asks."""

    __slots__ = ("event", "payload", "_first_type", "_receive")

    def __init__(self, event: dict[str, Any], receive: Any) -> None:
        self.event = event
        self.payload: bytes | None = None
        self._first_type = event["type"]
        self._receive = receive

    async def read(self, length: int | None = None) -> Any:
        """The next `length` bytes of the body (all of what is left without a length)."""
        if self.payload is None and self._first_type == "http.request":
            self.payload = self.event.get("body") or b""
            while self.event.get("more_body"):
                self.event = await self._receive()
                if self.event["type"] == "http.request":
                    if length is None or len(self.payload) < length:
                        self.payload += self.event.get("body") or b""
        payload = self.payload
        if length is None:
            self.payload = b""
            return payload
        self.payload = payload[length:]
        return payload[:length]


async def translate_request(scope: dict[str, Any], receive: Any, send: Any) -> dict[str, Any]:
    """python-engineio's `translate_request`, with the body class defined once."""
    event = await receive()
    if event["type"] not in _FIRST_EVENTS:
        return {}

    raw_uri = scope["path"]
    query_string = ""
    if scope.get("query_string"):
        try:
            query_string = scope["query_string"].decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            raw_uri += "?" + query_string
    environ = {
        "wsgi.input": RequestBody(event, receive),
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.async": True,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "SERVER_SOFTWARE": "asgi",
        "REQUEST_METHOD": scope.get("method", "GET"),
        "PATH_INFO": scope["path"],
        "QUERY_STRING": query_string,
        "RAW_URI": raw_uri,
        "SCRIPT_NAME": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "0",
        "SERVER_NAME": "asgi",
        "SERVER_PORT": "0",
        "asgi.receive": receive,
        "asgi.send": send,
        "asgi.scope": scope,
    }

    for name, value in scope["headers"]:
        try:
            name = name.upper().decode("utf-8")
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            continue  # as engine.io: a header that is not UTF-8 is skipped
        if name == "CONTENT-TYPE":
            environ["CONTENT_TYPE"] = value
            continue
        if name == "CONTENT-LENGTH":
            environ["CONTENT_LENGTH"] = value
            continue
        key = "HTTP_" + name.replace("-", "_")
        if key in environ:
            value = f"{environ[key]},{value}"
        environ[key] = value

    environ["wsgi.url_scheme"] = environ.get("HTTP_X_FORWARDED_PROTO", "http")
    return environ
