"""shed_handshake: once a connection's Socket.IO handshake is over, its environ keeps only
what a later CONNECT reads (KEPT), a websocket's ASGI scope loses its headers, and uvicorn's
protocol object its websockets request and response; nothing else is touched."""

import pytest

from sharemyshows_rt.transport.footprint import KEPT, shed_handshake


class Protocol:
    """Poses as uvicorn's websockets protocol: `asgi.send` is its bound method `send`."""

    def __init__(self, handshake_complete: bool = True) -> None:
        self.handshake_complete = handshake_complete
        self.request = object()
        self.response = object()
        self.transport = object()

    async def send(self, message) -> None:  # pragma: no cover - never called
        pass

    async def receive(self):  # pragma: no cover - never called
        pass


def make_environ(
    scope_type: str = "websocket", protocol: Protocol | None = None
) -> tuple[dict, dict, Protocol]:
    protocol = protocol or Protocol()
    headers = [
        (b"host", b"chat.example"),
        (b"cookie", b"access_token_cookie=T"),
        (b"user-agent", b"phone/1.0"),
        (b"sec-websocket-key", b"abc=="),
    ]
    scope = {
        "type": scope_type,
        "path": "/socket.io/",
        "query_string": b"EIO=4&token=Q",
        "headers": headers,
        "client": ("10.0.0.1", 5000),
    }
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/socket.io/",
        "QUERY_STRING": "EIO=4&token=Q",
        "REMOTE_ADDR": "10.0.0.1",
        "HTTP_COOKIE": "access_token_cookie=T",
        "HTTP_HOST": "chat.example",
        "HTTP_ORIGIN": "http://localhost:3000",
        "wsgi.url_scheme": "ws",
        "asgi.receive": protocol.receive,
        "asgi.send": protocol.send,
        # What only the handshake needed:
        "HTTP_USER_AGENT": "phone/1.0",
        "HTTP_SEC_WEBSOCKET_KEY": "abc==",
        "HTTP_CONNECTION": "Upgrade",
        "HTTP_UPGRADE": "websocket",
        "SERVER_NAME": "chat",
        "SERVER_PORT": "443",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_TYPE": "text/plain",
        "RAW_URI": "/socket.io/?EIO=4&token=Q",
        "SCRIPT_NAME": "",
        "wsgi.input": object(),
        "asgi.scope": scope,
    }
    return environ, scope, protocol


def test_kept_keys_are_the_ones_a_later_connect_reads():
    # Authenticator.socket_token: the token may come from the query string or the cookie;
    # OriginCheck: the server's own origin is wsgi.url_scheme + HTTP_HOST.
    assert {
        "QUERY_STRING",
        "HTTP_COOKIE",
        "HTTP_HOST",
        "wsgi.url_scheme",
        "asgi.receive",
        "asgi.send",
    } <= KEPT


@pytest.mark.parametrize("scope_type", ["websocket", "http"])
def test_environ_keeps_the_kept_keys_and_drops_the_others(scope_type):
    environ, _scope, _protocol = make_environ(scope_type)
    before = dict(environ)
    shed_handshake(environ)
    assert set(environ) == KEPT & set(before)
    assert set(environ) == KEPT, "every kept key was present: all must remain"
    for key, value in environ.items():
        assert value is before[key], f"{key} was replaced"


def test_websocket_scope_loses_its_headers_and_nothing_else():
    environ, scope, _protocol = make_environ("websocket")
    shed_handshake(environ)
    assert scope["headers"] == []
    assert scope["path"] == "/socket.io/" and scope["query_string"] == b"EIO=4&token=Q"
    assert scope["client"] == ("10.0.0.1", 5000) and scope["type"] == "websocket"


def test_websocket_protocol_lets_go_of_the_request_and_response():
    environ, _scope, protocol = make_environ("websocket")
    transport = protocol.transport
    shed_handshake(environ)
    assert protocol.request is None and protocol.response is None
    assert protocol.transport is transport and protocol.handshake_complete is True
    assert environ["asgi.send"].__self__ is protocol, "the send callable itself stays"


def test_protocol_mid_handshake_keeps_its_request_and_response():
    protocol = Protocol(handshake_complete=False)
    request, response = protocol.request, protocol.response
    environ, scope, _ = make_environ("websocket", protocol)
    shed_handshake(environ)
    assert protocol.request is request and protocol.response is response
    assert scope["headers"] == []


def test_http_scope_keeps_its_headers_and_its_protocol_is_untouched():
    environ, scope, protocol = make_environ("http")
    headers = scope["headers"]
    request, response = protocol.request, protocol.response
    shed_handshake(environ)
    assert scope["headers"] is headers and len(headers) == 4
    assert protocol.request is request and protocol.response is response


def test_send_that_is_not_a_bound_method_is_fine():
    environ, scope, _protocol = make_environ("websocket")

    async def send(message):  # pragma: no cover - never called
        pass

    environ["asgi.send"] = send
    shed_handshake(environ)
    assert scope["headers"] == [] and environ["asgi.send"] is send


def test_protocol_without_request_attributes_is_fine():
    class Bare:
        handshake_complete = True

        async def send(self, message):  # pragma: no cover - never called
            pass

    bare = Bare()
    environ, _scope, _protocol = make_environ("websocket")
    environ["asgi.send"] = bare.send
    shed_handshake(environ)
    assert not hasattr(bare, "request") and not hasattr(bare, "response")


def test_environ_without_a_scope_is_only_shed():
    environ = {"QUERY_STRING": "EIO=4", "HTTP_USER_AGENT": "x", "wsgi.input": object()}
    shed_handshake(environ)
    assert environ == {"QUERY_STRING": "EIO=4"}


def test_shedding_twice_changes_nothing_more():
    environ, scope, protocol = make_environ("websocket")
    shed_handshake(environ)
    once = dict(environ)
    shed_handshake(environ)
    assert environ == once and scope["headers"] == [] and protocol.request is None


def test_the_websocket_request_kept_by_websockets_parser_loses_its_headers():
    """websockets' parsing generator keeps the Request object for the connection's life;
    what it holds beyond the path goes."""
    from websockets.datastructures import Headers
    from websockets.http11 import Request

    protocol = Protocol()
    request = protocol.request = Request(
        "/socket.io/?EIO=4",
        Headers(
            [
                ("Host", "chat.example"),
                ("Cookie", "access_token_cookie=T"),
                ("Upgrade", "websocket"),
            ]
        ),
    )
    environ, _scope, _ = make_environ(protocol=protocol)
    shed_handshake(environ)
    assert protocol.request is None
    assert len(request.headers) == 0 and list(request.headers.raw_items()) == []


def test_an_unfinished_handshake_keeps_its_request_headers():
    from websockets.datastructures import Headers
    from websockets.http11 import Request

    protocol = Protocol(handshake_complete=False)
    request = protocol.request = Request("/socket.io/?EIO=4", Headers([("Host", "chat.example")]))
    environ, _scope, _ = make_environ(protocol=protocol)
    shed_handshake(environ)
    assert protocol.request is request and len(request.headers) == 1
