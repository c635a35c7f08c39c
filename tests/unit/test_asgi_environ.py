"""Our translate_request builds the environ python-engineio's own builds, key for key, and
its body reads the same bytes from the same ASGI events."""

import pytest
from engineio.async_drivers import asgi as engineio_asgi
from hypothesis import given, settings
from hypothesis import strategies as st

from sharemyshows_rt.transport.asgi_environ import RequestBody, translate_request

HEADERS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                b"host",
                b"content-type",
                b"content-length",
                b"x-forwarded-proto",
                b"origin",
                b"cookie",
                b"x-custom-header",
                b"\xff-bad",
                b"accept",
            ]
        ),
        st.binary(max_size=12) | st.sampled_from([b"https", b"text/plain", b"12"]),
    ),
    max_size=8,
)


def _scope(kind: str, headers, query: bytes) -> dict:
    scope = {"type": kind, "path": "/socket.io/", "query_string": query, "headers": headers}
    if kind == "http":
        scope["method"] = "POST"
    return scope


def _events(first: dict, *more: dict):
    queue = [first, *more]

    async def receive():
        return queue.pop(0)

    return receive


@settings(max_examples=200, deadline=None)
@given(
    kind=st.sampled_from(["http", "websocket"]),
    headers=HEADERS,
    query=st.sampled_from([b"", b"EIO=4&transport=polling", b"\xff\xfe", b"sid=abc"]),
)
async def test_the_environ_is_engineios(kind, headers, query):
    first = (
        {"type": "http.request", "body": b"4hello"}
        if kind == "http"
        else {"type": "websocket.connect"}
    )
    scope = _scope(kind, headers, query)
    receive = _events(first, first)
    ours = await translate_request(scope, receive, "send")
    theirs = await engineio_asgi.translate_request(scope, receive, "send")
    assert isinstance(ours.pop("wsgi.input"), RequestBody)
    theirs.pop("wsgi.input")
    assert ours.keys() == theirs.keys()
    assert ours == theirs


async def test_other_first_events_give_an_empty_environ():
    scope = _scope("http", [], b"")
    assert await translate_request(scope, _events({"type": "http.disconnect"}), None) == {}


@pytest.mark.parametrize("lengths", [[None], [3], [2, 100], [5, None], [1, 1, 1, None]])
async def test_the_body_is_read_as_engineio_reads_it(lengths):
    events = (
        {"type": "http.request", "body": b"abc", "more_body": True},
        {"type": "http.disconnect"},
        {"type": "http.request", "body": b"def", "more_body": True},
        {"type": "http.request", "body": b"gh", "more_body": False},
    )
    scope = _scope("http", [], b"")
    ours = (await translate_request(scope, _events(*events), None))["wsgi.input"]
    theirs = (await engineio_asgi.translate_request(scope, _events(*events), None))["wsgi.input"]
    for length in lengths:
        assert await ours.read(length) == await theirs.read(length)


async def test_one_class_serves_every_request():
    scope = _scope("websocket", [], b"")
    first = await translate_request(scope, _events({"type": "websocket.connect"}), None)
    second = await translate_request(scope, _events({"type": "websocket.connect"}), None)
    assert type(first["wsgi.input"]) is type(second["wsgi.input"]) is RequestBody
