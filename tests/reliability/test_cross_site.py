"""Cross-site WebSocket hijacking: a browser page from an origin outside CORS_ALLOWED_ORIGINS
(default http://localhost:3000,http://localhost:5173) cannot open a socket, on either
transport, even though the browser sends the victim's cookie along. Clients without an
Origin header (native apps, scripts) are let in."""

import json

import aiohttp
import httpx
import pytest
import socketio
from support.raw_socketio import RawSocketIO
from support.settings import COOKIE_NAME, FOREIGN_ORIGIN, TIMEOUT

TRANSPORTS = ["websocket", "polling"]
DEFAULT_ORIGINS = ["http://localhost:3000", "http://localhost:5173"]


def credentials(rig, user, via: str) -> dict:
    token = rig.tokens.access(user.id)
    return {"auth": token} if via == "auth" else {"cookie": token}


@pytest.mark.parametrize("via", ["cookie", "auth"])
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_foreign_origin_is_refused(transport, via, default_rig):
    fan = default_rig.db.add_user()
    client = default_rig.client(transport)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(
            **credentials(default_rig, fan, via), headers={"Origin": FOREIGN_ORIGIN}
        )
    assert not client.connected and client.received("connected") == []


@pytest.mark.parametrize("origin", DEFAULT_ORIGINS)
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_allowed_origin_is_accepted(transport, origin, default_rig):
    fan = default_rig.db.add_user()
    client = default_rig.client(transport)
    await client.connect(cookie=default_rig.tokens.access(fan.id), headers={"Origin": origin})
    assert (await client.wait_for("connected"))["user_id"] == fan.id


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_no_origin_is_accepted(transport, default_rig):
    fan = default_rig.db.add_user()
    client = await default_rig.connect(fan, transport=transport)
    assert (await client.wait_for("connected"))["user_id"] == fan.id


async def test_polling_handshake_from_a_foreign_origin_opens_no_session(default_rig):
    """Below the client library: the Engine.IO handshake itself is refused, and the answer
    does not let the foreign page read it."""
    fan = default_rig.db.add_user()
    cookie = {"Cookie": f"{COOKIE_NAME}={default_rig.tokens.access(fan.id)}"}
    async with httpx.AsyncClient(base_url=default_rig.base_url, timeout=TIMEOUT) as http:
        refused = await http.get(
            "/socket.io/",
            params={"EIO": "4", "transport": "polling"},
            headers={"Origin": FOREIGN_ORIGIN, **cookie},
        )
        allowed = await http.get(
            "/socket.io/",
            params={"EIO": "4", "transport": "polling"},
            headers={"Origin": DEFAULT_ORIGINS[0], **cookie},
        )
        if allowed.status_code == 200 and allowed.text.startswith("0{"):
            # End the Engine.IO session politely (a close packet), as a browser tab would.
            sid = json.loads(allowed.text[1:])["sid"]
            await http.post(
                "/socket.io/",
                params={"EIO": "4", "transport": "polling", "sid": sid},
                content="1",
                headers={"Origin": DEFAULT_ORIGINS[0]},
            )
    assert refused.status_code in (400, 403), (refused.status_code, refused.text)
    assert '"sid"' not in refused.text
    assert refused.headers.get("access-control-allow-origin") in (None, ""), refused.headers
    assert allowed.status_code == 200 and '"sid"' in allowed.text
    assert allowed.headers.get("access-control-allow-origin") == DEFAULT_ORIGINS[0]


async def test_websocket_handshake_from_a_foreign_origin_is_refused(default_rig):
    fan = default_rig.db.add_user()
    raw = RawSocketIO(
        default_rig.base_url,
        headers={
            "Origin": FOREIGN_ORIGIN,
            "Cookie": f"{COOKIE_NAME}={default_rig.tokens.access(fan.id)}",
        },
    )
    try:
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await raw.open(default_rig.tokens.access(fan.id))
    finally:
        await raw.close()


async def test_allowed_origins_come_from_the_environment(launch):
    own = "https://app.sharemyshows.example"
    rig = await launch(CORS_ALLOWED_ORIGINS=own)
    fan = rig.db.add_user()
    for transport in TRANSPORTS:
        client = rig.client(transport)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(
                cookie=rig.tokens.access(fan.id), headers={"Origin": DEFAULT_ORIGINS[0]}
            )
        accepted = await rig.connect(fan, transport=transport, headers={"Origin": own})
        assert accepted.connected
