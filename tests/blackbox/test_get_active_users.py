"""get_active_users: who is in a show right now, each user once."""

from support.expect import active_user_ids, assert_error, assert_failed_ack, assert_includes


async def test_get_active_users_answers_with_the_current_list(db, connect):
    alice, bob, show = db.add_user(), db.add_user(), db.add_show()
    first = await connect(alice)
    await first.join(show.id)
    second = await connect(bob)
    await second.join(show.id)
    active = await first.active_users(show.id)
    assert_includes(active, {"show_id": show.id, "count": 2})
    assert active_user_ids(active) == [alice.id, bob.id]  # in order of arrival
    assert_includes(
        active["active_users"][1], {"user_id": bob.id, "username": bob.username, "sid": second.sid}
    )


async def test_get_active_users_needs_no_join(db, connect):
    alice, show = db.add_user(), db.add_show()
    member = await connect(alice)
    await member.join(show.id)
    onlooker = await connect(db.add_user())
    assert active_user_ids(await onlooker.active_users(show.id)) == [alice.id]


async def test_get_active_users_of_a_show_nobody_joined_is_empty(db, connect):
    client = await connect(db.add_user())
    show = db.add_show()
    active = await client.active_users(show.id)
    assert active["active_users"] == [] and active["count"] == 0


async def test_get_active_users_with_a_string_show_id(db, connect):
    fan, show = db.add_user(), db.add_show()
    client = await connect(fan)
    await client.join(show.id)
    since = client.mark()
    await client.emit("get_active_users", {"show_id": str(show.id)})
    active = await client.wait_for("active_users", since=since)
    assert active["show_id"] == show.id and active_user_ids(active) == [fan.id]


async def test_get_active_users_of_an_unknown_show_is_show_not_found(db, connect):
    client = await connect(db.add_user())
    await client.emit("get_active_users", {"show_id": 2_000_000_000})
    assert_error(await client.wait_for("error"), event="get_active_users", message="Show not found")
    assert client.received("active_users") == []


async def test_get_active_users_goes_only_to_the_asker(db, connect):
    alice, bob, show = db.add_user(), db.add_user(), db.add_show()
    first, second = await connect(alice), await connect(bob)
    await first.join(show.id)
    await second.join(show.id)
    since = second.mark()
    await first.active_users(show.id)
    await second.call("typing", {"show_id": show.id, "is_typing": False})  # barrier with ack
    assert second.received("active_users", since=since) == []


async def test_get_active_users_pages_with_offset_and_limit(db, connect):
    fans, show = [db.add_user() for _ in range(3)], db.add_show()
    clients = [await connect(fan) for fan in fans]
    for client in clients:
        await client.join(show.id)
    ack = await clients[0].call("get_active_users", {"show_id": show.id, "offset": 1, "limit": 1})
    assert ack["ok"] is True and ack["count"] == 3 and ack["offset"] == 1
    assert [user["user_id"] for user in ack["active_users"]] == [fans[1].id]


async def test_get_active_users_with_an_offset_past_any_room_is_refused(db, connect):
    fan, show = db.add_user(), db.add_show()
    client = await connect(fan)
    await client.join(show.id)
    ack = await client.call("get_active_users", {"show_id": show.id, "offset": 2**70})
    assert_failed_ack(ack, "Invalid payload")
    assert_error(
        await client.wait_for("error"), event="get_active_users", message="Invalid payload"
    )
    assert active_user_ids(await client.active_users(show.id)) == [fan.id]  # still serving
