"""Cross-site WebSocket hijacking: only CORS_ALLOWED_ORIGINS (here http://localhost:3000)
may open a socket from a browser; clients without Origin are let in."""

import pytest
import socketio
from support.expect import assert_includes
from support.settings import ALLOWED_ORIGIN, FOREIGN_ORIGIN

TRANSPORTS = ["websocket", "polling"]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_foreign_origin_is_refused(transport, db, tokens, clients):
    fan = db.add_user()
    client = clients(transport)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(auth=tokens.access(fan.id), headers={"Origin": FOREIGN_ORIGIN})
    assert not client.connected and client.received("connected") == []


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_foreign_origin_with_the_cookie_is_refused(transport, db, tokens, clients):
    """The attack itself: a foreign page, the victim's cookie sent along by the browser."""
    fan = db.add_user()
    client = clients(transport)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(cookie=tokens.access(fan.id), headers={"Origin": FOREIGN_ORIGIN})
    assert client.received("connected") == []


@pytest.mark.parametrize(
    "origin",
    [
        "http://localhost:3000.evil.example",
        "http://localhost:3001",
        "https://localhost:3000",
        "null",
    ],
)
async def test_lookalike_origin_is_refused(origin, db, tokens, clients):
    fan = db.add_user()
    client = clients()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(auth=tokens.access(fan.id), headers={"Origin": origin})


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_allowed_origin_is_accepted(transport, db, connect):
    fan = db.add_user()
    client = await connect(fan, transport=transport, headers={"Origin": ALLOWED_ORIGIN})
    assert_includes(await client.wait_for("connected"), {"user_id": fan.id})


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_no_origin_is_accepted(transport, db, connect):
    fan = db.add_user()
    client = await connect(fan, transport=transport)
    assert_includes(await client.wait_for("connected"), {"user_id": fan.id})
