"""join_show: the active users, the broadcast to the others, errors and the check-in row."""

from support.client import about
from support.expect import active_user_ids, assert_error, assert_includes

UNKNOWN_SHOW_ID = 2_000_000_000


async def test_join_sends_message_history_then_active_users(db, connect):
    fan, show = db.add_user(), db.add_show()
    client = await connect(fan)
    since = client.mark()
    await client.join(show.id)
    names = [name for name in client.names(since) if name in ("message_history", "active_users")]
    assert names == ["message_history", "active_users"]


async def test_active_users_lists_the_joiner_with_their_sid(db, connect):
    fan, show = db.add_user(), db.add_show()
    client = await connect(fan)
    _, active = await client.join(show.id)
    assert active["show_id"] == show.id
    assert active_user_ids(active) == [fan.id]
    assert_includes(
        active["active_users"][0], {"user_id": fan.id, "username": fan.username, "sid": client.sid}
    )


async def test_active_users_lists_everyone_present(db, connect):
    alice, bob, show = db.add_user(), db.add_user(), db.add_show()
    first = await connect(alice)
    await first.join(show.id)
    second = await connect(bob)
    _, active = await second.join(show.id)
    assert sorted(active_user_ids(active)) == sorted([alice.id, bob.id])


async def test_user_joined_goes_to_the_others(db, connect):
    alice, bob, show = db.add_user(), db.add_user(), db.add_show()
    first = await connect(alice)
    await first.join(show.id)
    second = await connect(bob)
    await second.join(show.id)
    joined = await first.wait_for("user_joined", about(bob))
    assert_includes(
        joined,
        {
            "show_id": show.id,
            "user_id": bob.id,
            "username": bob.username,
            "message": f"{bob.username} joined the chat",
        },
    )
    assert sorted(u["user_id"] for u in joined["active_users"]) == sorted([alice.id, bob.id])


async def test_user_joined_is_not_sent_to_the_joiner(db, connect):
    alice, bob, show = db.add_user(), db.add_user(), db.add_show()
    first = await connect(alice)
    await first.join(show.id)
    second = await connect(bob)
    await second.join(show.id)
    await first.wait_for("user_joined", about(bob))
    await second.active_users(show.id)  # barrier
    assert second.received("user_joined") == []


async def test_user_joined_does_not_reach_other_shows(db, connect):
    alice, bob, show, elsewhere = db.add_user(), db.add_user(), db.add_show(), db.add_show()
    first = await connect(alice)
    await first.join(elsewhere.id)
    second = await connect(bob)
    await second.join(show.id)
    await first.active_users(elsewhere.id)  # barrier
    assert first.received("user_joined") == []


async def test_rejoin_resends_history_and_users_and_broadcasts_nothing(db, connect):
    alice, bob, show = db.add_user(), db.add_user(), db.add_show()
    ids = db.add_messages(show, alice, ["hello"])
    first = await connect(alice)
    await first.join(show.id)
    second = await connect(bob)
    await second.join(show.id)
    await first.wait_for("user_joined", about(bob))
    history, active = await second.join(show.id)
    assert [m["id"] for m in history["messages"]] == ids
    assert sorted(active_user_ids(active)) == sorted([alice.id, bob.id])
    await first.active_users(show.id)  # barrier
    assert len(first.received("user_joined", about(bob))) == 1


async def test_show_id_may_be_a_string_of_digits(db, connect):
    fan, show = db.add_user(), db.add_show()
    client = await connect(fan)
    since = client.mark()
    ack = await client.call("join_show", {"show_id": str(show.id)})
    assert ack["ok"] is True
    history = await client.wait_for("message_history", since=since)
    active = await client.wait_for("active_users", since=since)
    assert history["show_id"] == show.id and active["show_id"] == show.id  # integers
    assert active_user_ids(active) == [fan.id]


async def test_join_unknown_show_is_show_not_found(db, connect):
    fan = db.add_user()
    client = await connect(fan)
    await client.emit("join_show", {"show_id": UNKNOWN_SHOW_ID})
    assert_error(await client.wait_for("error"), event="join_show", message="Show not found")
    assert client.received("message_history") == [] and client.received("active_users") == []


async def test_join_unknown_show_joins_nothing(db, connect):
    fan, show = db.add_user(), db.add_show()
    client = await connect(fan)
    await client.emit("join_show", {"show_id": UNKNOWN_SHOW_ID})
    await client.wait_for("error")
    ack = await client.call("send_message", {"show_id": UNKNOWN_SHOW_ID, "message": "hi"})
    assert ack["ok"] is False
    assert (await client.active_users(show.id))["active_users"] == []


async def test_join_creates_a_checkin(db, connect):
    fan, show = db.add_user(), db.add_show()
    assert db.checkin(fan, show) is None
    client = await connect(fan)
    await client.join(show.id)
    row = await db.wait_for_checkin(fan, show, checked_out=False)
    assert row.checked_in_at is not None


async def test_rejoin_keeps_one_checkin_row(db, connect):
    fan, show = db.add_user(), db.add_show()
    client = await connect(fan)
    await client.join(show.id)
    await client.join(show.id)
    await db.wait_for_checkin(fan, show, checked_out=False)  # asserts at most one row


async def test_coming_back_clears_checked_out_at(db, connect):
    fan, show = db.add_user(), db.add_show()
    client = await connect(fan)
    await client.join(show.id)
    await client.leave(show.id)
    await db.wait_for_checkin(fan, show, checked_out=True)
    await client.join(show.id)
    await db.wait_for_checkin(fan, show, checked_out=False)
