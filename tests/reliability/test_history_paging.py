"""get_message_history {show_id, before_id, limit <= 100}: pages of a show's messages, oldest
first, with has_more; the same pages as GET /api/shows/{id}/messages."""

import pytest
from support.client import for_show
from support.expect import assert_error, assert_failed_ack
from support.rigs import Rig


async def socket_page(client, show, **query) -> tuple[dict, dict]:
    """The ack and the message_history event of one get_message_history."""
    since = client.mark()
    ack = await client.call("get_message_history", {"show_id": show.id, **query})
    assert isinstance(ack, dict) and ack.get("ok") is True, ack
    event = await client.wait_for("message_history", for_show(show.id), since=since)
    return ack, event


async def rest_page(http, rig: Rig, user, show, **query) -> dict:
    response = await http.get(
        f"/api/shows/{show.id}/messages",
        params=query,
        headers={"Authorization": f"Bearer {rig.tokens.access(user.id)}"},
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_pages_equal_the_rest_pages_and_cover_the_show_exactly(default_rig, http_for):
    rig = default_rig
    reader, poster, show = rig.db.add_user(), rig.db.add_user(), rig.db.add_show()
    posted = rig.db.add_messages(show, poster, [f"old {n}" for n in range(250)])
    client = await rig.connect(reader)

    collected: list[int] = []
    sizes: list[int] = []
    query: dict = {"limit": 100}
    async with http_for(rig) as http:
        for _page in range(5):
            ack, event = await socket_page(client, show, **query)
            rest = await rest_page(http, rig, reader, show, **query)
            # The event and the ack carry the same page, and the REST route agrees.
            assert {key: ack[key] for key in ("show_id", "messages", "has_more")} == {
                key: event[key] for key in ("show_id", "messages", "has_more")
            }
            assert ack["messages"] == rest["messages"] and ack["has_more"] == rest["has_more"]
            page = [message["id"] for message in ack["messages"]]
            assert page == sorted(page) and len(page) <= 100
            collected = page + collected
            sizes.append(len(page))
            if not ack["has_more"]:
                break
            query = {"limit": 100, "before_id": page[0]}
    assert collected == posted
    assert sizes == [100, 100, 50]


async def test_has_more_is_false_exactly_when_the_page_reaches_the_first_message(default_rig):
    rig = default_rig
    reader, poster, show = rig.db.add_user(), rig.db.add_user(), rig.db.add_show()
    posted = rig.db.add_messages(show, poster, [f"m{n}" for n in range(10)])
    client = await rig.connect(reader)
    ack, _ = await socket_page(client, show, limit=10)
    assert [m["id"] for m in ack["messages"]] == posted and ack["has_more"] is False
    ack, _ = await socket_page(client, show, limit=9)
    assert [m["id"] for m in ack["messages"]] == posted[1:] and ack["has_more"] is True
    ack, _ = await socket_page(client, show, limit=5, before_id=posted[5])
    assert [m["id"] for m in ack["messages"]] == posted[:5] and ack["has_more"] is False


@pytest.mark.parametrize(
    "query",
    [{"limit": 101}, {"limit": 0}, {"limit": "10"}, {"before_id": -1}, {"before_id": "x"}],
    ids=["limit-101", "limit-0", "limit-string", "before-negative", "before-string"],
)
async def test_bad_history_query_is_refused_and_the_connection_stays_usable(query, default_rig):
    rig = default_rig
    reader, show = rig.db.add_user(), rig.db.add_show()
    client = await rig.connect(reader)
    since = client.mark()
    ack = await client.call("get_message_history", {"show_id": show.id, **query})
    assert_failed_ack(ack, "Invalid payload")
    assert_error(
        await client.wait_for("error", since=since),
        event="get_message_history",
        message="Invalid payload",
    )
    await socket_page(client, show, limit=1)
