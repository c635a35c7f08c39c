"""Bounded REST requests: a body over 64 KiB gets 413 without being read whole, whether its
Content-Length says so up front or it streams in chunks with no length at all."""

import asyncio
import json
from urllib.parse import urlsplit

from support.rest import assert_json_error, bearer
from support.security import subscription, subscriptions_of
from support.settings import TIMEOUT

LIMIT = 64 * 1024
SUBSCRIPTIONS = "/api/push/subscriptions"


def padded(body: dict, size: int) -> bytes:
    """Valid JSON of exactly `size` bytes (whitespace after the object)."""
    text = json.dumps(body).encode()
    return text + b" " * (size - len(text))


async def test_a_body_of_exactly_the_limit_is_read(rig, http):
    fan = rig.db.add_user()
    mine = subscription()
    response = await http.post(
        SUBSCRIPTIONS,
        content=padded(mine, LIMIT),
        headers={**bearer(rig.tokens.access(fan.id)), "Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text
    assert subscriptions_of(rig.db, fan) == [mine["endpoint"]]


async def test_a_body_past_the_limit_is_refused_with_413(rig, http):
    fan = rig.db.add_user()
    response = await http.post(
        SUBSCRIPTIONS,
        content=padded(subscription(), LIMIT + 1),
        headers={**bearer(rig.tokens.access(fan.id)), "Content-Type": "application/json"},
    )
    assert assert_json_error(response, 413)["error"]["message"] == "Payload too large"
    assert subscriptions_of(rig.db, fan) == []


async def raw_request(rig, head: str, body_parts: list[bytes]) -> bytes:
    """Send a request's head and these body bytes, never ending the body; the status line
    the server answers with (bounded: a server waiting for the rest never answers)."""
    url = urlsplit(rig.base_url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    try:
        writer.write(head.encode())
        for part in body_parts:
            writer.write(part)
        await writer.drain()
        return await asyncio.wait_for(reader.readline(), TIMEOUT)
    finally:
        writer.close()


def head(rig, fan, **headers: str) -> str:
    lines = [
        f"POST {SUBSCRIPTIONS} HTTP/1.1",
        f"Host: {urlsplit(rig.base_url).netloc}",
        f"Authorization: Bearer {rig.tokens.access(fan.id)}",
        "Content-Type: application/json",
        *(f"{name.replace('_', '-')}: {value}" for name, value in headers.items()),
    ]
    return "\r\n".join(lines) + "\r\n\r\n"


async def test_a_declared_length_past_the_limit_is_refused_before_any_body(rig):
    fan = rig.db.add_user()
    status = await raw_request(rig, head(rig, fan, Content_Length=str(100 * 1024 * 1024)), [])
    assert status.startswith(b"HTTP/1.1 413"), status


async def test_a_chunked_body_is_refused_once_past_the_limit_without_its_end(rig):
    """80 KiB of an endless chunked body: the answer comes without the last chunk."""
    fan = rig.db.add_user()
    chunk = b"{" + b" " * (8 * 1024 - 1)
    parts = [f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" for _ in range(10)]
    status = await raw_request(rig, head(rig, fan, Transfer_Encoding="chunked"), parts)
    assert status.startswith(b"HTTP/1.1 413"), status
    assert subscriptions_of(rig.db, fan) == []
