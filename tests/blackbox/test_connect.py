"""Connecting: the three places a token may be, their order, both transports, the greeting."""

import pytest
from support.expect import assert_includes
from support.tokens import OMIT

PLACES = ["auth", "query", "cookie"]
TRANSPORTS = ["websocket", "polling"]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("via", PLACES)
async def test_connect_with_token_in(via, transport, db, connect):
    fan = db.add_user()
    client = await connect(fan, via=via, transport=transport)
    assert_includes(await client.wait_for("connected"), {"user_id": fan.id})
    assert client.connected


async def test_connected_payload_names_the_user(db, connect):
    fan = db.add_user()
    client = await connect(fan)
    connected = await client.wait_for("connected")
    assert_includes(
        connected,
        {"message": "Connected to ShareMyShows", "username": fan.username, "user_id": fan.id},
    )


async def test_connected_is_sent_once(db, connect):
    fan, show = db.add_user(), db.add_show()
    client = await connect(fan)
    await client.wait_for("connected")
    await client.active_users(show.id)  # barrier
    assert len(client.received("connected")) == 1


async def test_auth_payload_comes_before_query_and_cookie(db, tokens, clients):
    first, second, third = db.add_user(), db.add_user(), db.add_user()
    client = clients()
    await client.connect(
        auth=tokens.access(first.id), query=tokens.access(second.id), cookie=tokens.access(third.id)
    )
    assert_includes(await client.wait_for("connected"), {"user_id": first.id})


async def test_query_comes_before_cookie(db, tokens, clients):
    second, third = db.add_user(), db.add_user()
    client = clients()
    await client.connect(query=tokens.access(second.id), cookie=tokens.access(third.id))
    assert_includes(await client.wait_for("connected"), {"user_id": second.id})


async def test_integer_sub_is_accepted(db, tokens, connect):
    fan = db.add_user()
    client = await connect(fan, token=tokens.access(fan.id, sub=fan.id))
    assert_includes(await client.wait_for("connected"), {"user_id": fan.id})


async def test_token_without_type_is_accepted(db, tokens, connect):
    fan = db.add_user()
    client = await connect(fan, token=tokens.access(fan.id, type=OMIT))
    assert_includes(await client.wait_for("connected"), {"user_id": fan.id})


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_cookie_among_other_cookies(transport, db, tokens, clients):
    fan = db.add_user()
    client = clients(transport)
    await client.connect(
        raw_cookie=f"session=abc; access_token_cookie={tokens.access(fan.id)}; theme=dark"
    )
    assert_includes(await client.wait_for("connected"), {"user_id": fan.id})


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(
    "other",
    [
        pytest.param("theme=dark mode", id="space_in_value"),
        pytest.param("remember_me", id="cookie_without_value"),
        pytest.param('prefs={"volume":3}', id="json_value"),
    ],
)
async def test_cookie_after_a_malformed_cookie_of_another_app(
    other, transport, db, tokens, clients
):
    """Browsers send every cookie of the domain; one the standard parser dislikes must not
    hide the access token."""
    fan = db.add_user()
    client = clients(transport)
    await client.connect(raw_cookie=f"{other}; access_token_cookie={tokens.access(fan.id)}")
    assert_includes(await client.wait_for("connected"), {"user_id": fan.id})
