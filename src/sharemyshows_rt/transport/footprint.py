"""What a connection keeps once its Socket.IO handshake is over. The request that opened it
stays referenced for the connection's whole life (by engine.io's environ, the ASGI scope and
uvicorn's protocol), headers, a body reader with a class of its own per request, websockets'
request and response objects: nothing reads them after the handshake, and at thousands of
idle fans they are megabytes and objects the garbage collector walks again and again."""

from __future__ import annotations

from typing import Any

# What a later Socket.IO CONNECT on the same session (another namespace) reads again:
# the token may come from the query string or the cookie.
KEPT = frozenset(
    {
        "REQUEST_METHOD",
        "PATH_INFO",
        "QUERY_STRING",
        "REMOTE_ADDR",
        "HTTP_COOKIE",
        "HTTP_HOST",
        "HTTP_ORIGIN",
        "wsgi.url_scheme",
        "asgi.receive",
        "asgi.send",
    }
)


def shed_handshake(environ: dict[str, Any]) -> None:
    """Drop, in place, what only the handshake needed from a connection's environ, its ASGI
    scope and, for a websocket, uvicorn's protocol object."""
    scope = environ.get("asgi.scope")
    for key in [key for key in environ if key not in KEPT]:
        del environ[key]
    if not isinstance(scope, dict) or scope.get("type") != "websocket":
        return
    scope["headers"] = []
    protocol = getattr(environ.get("asgi.send"), "__self__", None)
    if getattr(protocol, "handshake_complete", False):
        # uvicorn's websockets protocol keeps both only to answer the handshake. websockets'
        # parser keeps the request too, for the connection's life (a local of its parsing
        # generator): its headers, a list per name, are what can go.
        headers = getattr(getattr(protocol, "request", None), "headers", None)
        if hasattr(headers, "clear"):
            headers.clear()
        for name in ("request", "response"):
            if getattr(protocol, name, None) is not None:
                setattr(protocol, name, None)
