"""GET /api/shows/{show_id}/active_users: the same body as the active_users event."""

from support.expect import active_user_ids
from support.rest import assert_json_error, bearer


async def test_active_users_has_the_event_body(db, tokens, connect, http):
    alice, bob, show = db.add_user(), db.add_user(), db.add_show()
    first, second = await connect(alice), await connect(bob)
    await first.join(show.id)
    await second.join(show.id)
    event = await first.active_users(show.id)
    response = await http.get(
        f"/api/shows/{show.id}/active_users", headers=bearer(tokens.access(alice.id))
    )
    assert response.status_code == 200
    assert response.json() == event
    assert active_user_ids(response.json()) == [alice.id, bob.id]


async def test_active_users_of_an_empty_show(db, tokens, http):
    fan, show = db.add_user(), db.add_show()
    response = await http.get(
        f"/api/shows/{show.id}/active_users", headers=bearer(tokens.access(fan.id))
    )
    body = response.json()
    assert (body["show_id"], body["active_users"], body["count"]) == (show.id, [], 0)


async def test_active_users_follow_leaving(db, tokens, connect, http):
    fan, show = db.add_user(), db.add_show()
    client = await connect(fan)
    await client.join(show.id)
    await client.leave(show.id)
    response = await http.get(
        f"/api/shows/{show.id}/active_users", headers=bearer(tokens.access(fan.id))
    )
    assert response.json()["active_users"] == []


async def test_active_users_of_an_unknown_show_is_404_json(db, tokens, http):
    fan = db.add_user()
    response = await http.get(
        "/api/shows/2000000000/active_users", headers=bearer(tokens.access(fan.id))
    )
    assert assert_json_error(response, 404)["error"]["message"] == "Show not found"


async def test_active_users_pages_with_offset_and_limit(db, tokens, connect, http):
    fans, show = [db.add_user() for _ in range(3)], db.add_show()
    for fan in fans:
        await (await connect(fan)).join(show.id)
    response = await http.get(
        f"/api/shows/{show.id}/active_users?offset=2&limit=5",
        headers=bearer(tokens.access(fans[0].id)),
    )
    body = response.json()
    assert (body["count"], body["offset"]) == (3, 2)
    assert [user["user_id"] for user in body["active_users"]] == [fans[2].id]


async def test_active_users_with_an_offset_past_any_room_is_422(db, tokens, http):
    fan, show = db.add_user(), db.add_show()
    response = await http.get(
        f"/api/shows/{show.id}/active_users?offset={2**70}", headers=bearer(tokens.access(fan.id))
    )
    assert_json_error(response, 422)
