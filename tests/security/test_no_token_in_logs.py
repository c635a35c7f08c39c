"""No access token in the log at any level: at LOG_LEVEL=DEBUG (text and JSON), a server
sees tokens in the auth payload, the query string and the cookie, on websocket and polling,
accepted and refused, through REST, and inside malformed packets; then not one token, nor
the start or end of its signature, is in its output. Libraries log at DEBUG in their own
ways (websockets: request headers and frames, cut short), so the test looks for pieces."""

import asyncio
import json
import secrets
import uuid

import aiohttp
import httpx
import pytest
from support.client import ChatClient
from support.database import Database, sqlite_urls
from support.rest import bearer, cookie
from support.server import ServerProcess
from support.settings import TIMEOUT, clean_environment
from support.tokens import Tokens


@pytest.fixture(params=["text", "json"])
def debug_server(request, tmp_path):
    secret = secrets.token_urlsafe(48)
    urls = sqlite_urls(tmp_path / "chat.db")
    env = clean_environment(
        DATABASE_URL=urls.server,
        JWT_SECRET_KEY=secret,
        LOG_LEVEL="DEBUG",
        LOG_JSON="true" if request.param == "json" else "false",
    )
    server = ServerProcess(env, tmp_path / "server.log", cwd=tmp_path).start()
    db = Database(urls.tests)
    try:
        yield server, db, Tokens(secret)
    finally:
        server.stop()
        db.dispose()


async def chat_with(server, show_id: int, transport: str, **how: str) -> None:
    client = ChatClient(server.base_url, transport=transport)
    try:
        await client.connect(**how)
        await client.join(show_id)
        await client.say(show_id, "hello")
        await client.call("send_message", {"show_id": 2_000_000_000, "message": "nowhere"})
    finally:
        await client.close()


async def refused(server, transport: str, **how: str) -> None:
    client = ChatClient(server.base_url, transport=transport)
    try:
        await client.refused(**how)
    finally:
        await client.close()


async def malformed_packets(server, token: str, good: str) -> None:
    """CONNECT packets whose JSON breaks off after the token, on both transports; on the
    websocket, a good CONNECT after it shows the broken one was read."""
    broken = '40{"token": "' + token + '", '
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(
            f"{server.base_url}/socket.io/?EIO=4&transport=websocket",
            timeout=aiohttp.ClientWSTimeout(ws_close=TIMEOUT),
        ) as ws:
            await asyncio.wait_for(ws.receive(), TIMEOUT)  # the open packet
            await ws.send_str(broken)
            await ws.send_str('40{"token": "' + good + '"}')
            answer = await asyncio.wait_for(ws.receive(), TIMEOUT)
            assert answer.type == aiohttp.WSMsgType.TEXT and answer.data.startswith("40{"), answer
    async with httpx.AsyncClient(base_url=server.base_url, timeout=TIMEOUT) as http:
        opened = await http.get("/socket.io/?EIO=4&transport=polling")
        sid = json.loads(opened.text[1:])["sid"]
        await http.post(f"/socket.io/?EIO=4&transport=polling&sid={sid}", content=broken)


async def test_no_token_reaches_the_log_at_debug(debug_server):
    server, db, tokens = debug_server
    fan, show = db.add_user(), db.add_show()
    used: list[str] = []

    def token(**claims) -> str:
        used.append(tokens.access(fan.id, **claims))
        return used[-1]

    for transport in ("websocket", "polling"):
        for via in ("auth", "query", "cookie"):
            await chat_with(server, show.id, transport, **{via: token()})
            await refused(server, transport, **{via: tokens.expired(fan.id)})
            used.append(tokens.expired(fan.id))
        await refused(server, transport, auth=tokens.access(999_999))
        used.append(tokens.access(999_999))
    async with httpx.AsyncClient(base_url=server.base_url, timeout=TIMEOUT) as http:
        url = f"/api/shows/{show.id}/messages"
        await http.get(url, headers=bearer(token()))
        await http.get(url, headers=cookie(token()))
        await http.get(url, params={"token": token()})
        await http.get("/api/shows/2000000000/messages", headers=bearer(token()))
    await malformed_packets(server, token(), token())
    log = await log_with_marker(server)
    assert "DEBUG" in log, "the server did not log at DEBUG"
    for secret in used:
        signature = secret.split(".")[2]
        for piece in (secret, signature, signature[:12], signature[-12:]):
            lines = [line for line in log.splitlines() if piece in line]
            assert not lines, f"a token (or part of its signature) is logged:\n{lines[0][:400]}"


async def log_with_marker(server) -> str:
    """The server's whole log, once a request made now has reached it (bounded)."""
    marker = f"marker-{uuid.uuid4().hex}"
    async with httpx.AsyncClient(base_url=server.base_url, timeout=TIMEOUT) as http:
        await http.get("/healthz", params={"marker": marker})
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT
    while marker not in (text := server.log()):
        assert loop.time() < deadline, "the marker never reached the server's log"
        await asyncio.sleep(0.02)
    return text
