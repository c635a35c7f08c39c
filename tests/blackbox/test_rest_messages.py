"""GET /api/shows/{show_id}/messages: a page of messages, oldest first, paging backwards."""

import pytest
from support.expect import assert_message
from support.rest import assert_json_error, bearer
from support.settings import REST_LIMIT_MAX


@pytest.fixture
def reader(db, tokens):
    """A user and their headers."""
    fan = db.add_user()
    return fan, bearer(tokens.access(fan.id))


async def test_messages_oldest_first_with_every_field(db, reader, http):
    fan, headers = reader
    show = db.add_show()
    ids = db.add_messages(show, fan, ["one", "two", "three"])
    response = await http.get(f"/api/shows/{show.id}/messages", headers=headers)
    assert response.status_code == 200
    body = response.json()
    assert body["show_id"] == show.id and body["has_more"] is False
    assert [m["id"] for m in body["messages"]] == ids
    for message, text in zip(body["messages"], ["one", "two", "three"]):
        assert_message(message, show=show, user=fan, text=text)


async def test_messages_of_an_empty_show(db, reader, http):
    _, headers = reader
    show = db.add_show()
    body = (await http.get(f"/api/shows/{show.id}/messages", headers=headers)).json()
    assert body["messages"] == [] and body["has_more"] is False


async def test_messages_hold_only_this_shows_messages(db, reader, http):
    fan, headers = reader
    show, other = db.add_show(), db.add_show()
    db.add_messages(other, fan, ["elsewhere"])
    ids = db.add_messages(show, fan, ["here"])
    body = (await http.get(f"/api/shows/{show.id}/messages", headers=headers)).json()
    assert [m["id"] for m in body["messages"]] == ids


async def test_messages_are_as_their_new_message_was(db, tokens, connect, http):
    fan, show = db.add_user(), db.add_show()
    client = await connect(fan)
    await client.join(show.id)
    sent = [await client.say(show.id, f"line {n}") for n in range(2)]
    body = (
        await http.get(f"/api/shows/{show.id}/messages", headers=bearer(tokens.access(fan.id)))
    ).json()
    assert body["messages"] == sent


async def test_messages_page_backwards_with_before_id(db, reader, http):
    fan, headers = reader
    show = db.add_show()
    ids = db.add_messages(show, fan, [f"m{n}" for n in range(25)])
    url = f"/api/shows/{show.id}/messages"

    newest = (await http.get(url, params={"limit": 10}, headers=headers)).json()
    assert [m["id"] for m in newest["messages"]] == ids[15:] and newest["has_more"] is True

    middle = (
        await http.get(url, params={"limit": 10, "before_id": ids[15]}, headers=headers)
    ).json()
    assert [m["id"] for m in middle["messages"]] == ids[5:15] and middle["has_more"] is True

    oldest = (
        await http.get(url, params={"limit": 10, "before_id": ids[5]}, headers=headers)
    ).json()
    assert [m["id"] for m in oldest["messages"]] == ids[:5] and oldest["has_more"] is False


async def test_has_more_is_false_when_exactly_limit_remain(db, reader, http):
    fan, headers = reader
    show = db.add_show()
    ids = db.add_messages(show, fan, [f"m{n}" for n in range(5)])
    body = (
        await http.get(f"/api/shows/{show.id}/messages", params={"limit": 5}, headers=headers)
    ).json()
    assert [m["id"] for m in body["messages"]] == ids and body["has_more"] is False


async def test_before_the_first_message_is_empty(db, reader, http):
    fan, headers = reader
    show = db.add_show()
    ids = db.add_messages(show, fan, ["only"])
    body = (
        await http.get(
            f"/api/shows/{show.id}/messages", params={"before_id": ids[0]}, headers=headers
        )
    ).json()
    assert body["messages"] == [] and body["has_more"] is False


async def test_default_page_is_the_last_50(db, reader, http):
    fan, headers = reader
    show = db.add_show()
    ids = db.add_messages(show, fan, [f"m{n}" for n in range(60)])
    body = (await http.get(f"/api/shows/{show.id}/messages", headers=headers)).json()
    assert [m["id"] for m in body["messages"]] == ids[-50:] and body["has_more"] is True


async def test_limit_100_is_allowed(db, reader, http):
    fan, headers = reader
    show = db.add_show()
    ids = db.add_messages(show, fan, [f"m{n}" for n in range(REST_LIMIT_MAX + 5)])
    body = (
        await http.get(
            f"/api/shows/{show.id}/messages", params={"limit": REST_LIMIT_MAX}, headers=headers
        )
    ).json()
    assert [m["id"] for m in body["messages"]] == ids[-REST_LIMIT_MAX:] and body["has_more"] is True


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"limit": REST_LIMIT_MAX + 1}, id="limit_101"),
        pytest.param({"limit": 500}, id="limit_500"),
        pytest.param({"limit": 0}, id="limit_0"),
        pytest.param({"limit": -1}, id="limit_negative"),
        pytest.param({"limit": "ten"}, id="limit_letters"),
        pytest.param({"limit": "1.5"}, id="limit_fraction"),
        pytest.param({"limit": ""}, id="limit_empty"),
        pytest.param({"before_id": "abc"}, id="before_id_letters"),
        pytest.param({"before_id": 0}, id="before_id_0"),
        pytest.param({"before_id": -5}, id="before_id_negative"),
        pytest.param({"before_id": str(2**70)}, id="before_id_2**70"),
    ],
)
async def test_bad_paging_parameters_are_422_json(params, db, reader, http):
    _, headers = reader
    show = db.add_show()
    response = await http.get(f"/api/shows/{show.id}/messages", params=params, headers=headers)
    body = assert_json_error(response, 422)
    assert {"message", "details"} <= body["error"].keys()


async def test_unknown_show_is_404_json(reader, http):
    _, headers = reader
    body = assert_json_error(await http.get("/api/shows/2000000000/messages", headers=headers), 404)
    assert body["error"]["message"] == "Show not found"


@pytest.mark.parametrize("show_id", ["abc", "0", "-1", "9" * 30])
async def test_bad_show_id_in_the_path_is_a_client_error(show_id, reader, http):
    _, headers = reader
    response = await http.get(f"/api/shows/{show_id}/messages", headers=headers)
    assert response.status_code in (404, 422), response.status_code
    assert response.headers["content-type"].startswith("application/json")
