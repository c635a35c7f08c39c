"""GET /api/shows/{show_id}/active_users: the same body as the active_users event."""

from support.expect import active_user_ids
from support.rest import assert_json_error, bearer


async def test_active_users_has_the_event_body(db, tokens, connect, http):
    alice, bob, show = db.add_user(), db.add_user(), db.add_show()
    first, second = await connect(alice), await connect(bob)
    await first.join(show.id)
    await second.join(show.id)
    event = await first.active_users(show.id)
    response = await http.get(f"/api/shows/{show.id}/active_users",
                              headers=bearer(tokens.access(alice.id)))
    assert response.status_code == 200
    assert response.json() == event
    assert active_user_ids(response.json()) == [alice.id, bob.id]


async def test_active_users_of_an_empty_show(db, tokens, http):
    fan, show = db.add_user(), db.add_show()
    response = await http.get(f"/api/shows/{show.id}/active_users",
                              headers=bearer(tokens.access(fan.id)))
    body = response.json()
    assert (body["show_id"], body["active_users"], body["count"]) == (show.id, [], 0)


async def test_active_users_follow_leaving(db, tokens, connect, http):
    fan, show = db.add_user(), db.add_show()
    client = await connect(fan)
    await client.join(show.id)
    await client.leave(show.id)
    response = await http.get(f"/api/shows/{show.id}/active_users",
                              headers=bearer(tokens.access(fan.id)))
    assert response.json()["active_users"] == []


async def test_active_users_of_an_unknown_show_is_404_json(db, tokens, http):
    fan = db.add_user()
    response = await http.get("/api/shows/2000000000/active_users",
                              headers=bearer(tokens.access(fan.id)))
    assert assert_json_error(response, 404)["error"]["message"] == "Show not found"
