"""Disconnecting, politely or by a dropped transport: like leaving every show."""

import pytest
from support.client import about
from support.expect import active_user_ids, assert_includes


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_disconnect_sends_user_left_to_the_others(transport, db, connect):
    alice, bob, show = db.add_user(), db.add_user(), db.add_show()
    first = await connect(alice)
    await first.join(show.id)
    second = await connect(bob, transport=transport)
    await second.join(show.id)
    await first.wait_for("user_joined", about(bob))
    await second.close()
    left = await first.wait_for("user_left", about(bob))
    assert_includes(
        left,
        {
            "show_id": show.id,
            "user_id": bob.id,
            "username": bob.username,
            "message": f"{bob.username} left the chat",
        },
    )
    assert [u["user_id"] for u in left["active_users"]] == [alice.id]


async def test_disconnect_updates_presence(db, connect):
    alice, bob, show = db.add_user(), db.add_user(), db.add_show()
    first, second = await connect(alice), await connect(bob)
    await first.join(show.id)
    await second.join(show.id)
    await second.close()
    await first.wait_for("user_left", about(bob))
    assert active_user_ids(await first.active_users(show.id)) == [alice.id]


async def test_disconnect_sets_checked_out_at(db, connect):
    fan, show = db.add_user(), db.add_show()
    client = await connect(fan)
    await client.join(show.id)
    await db.wait_for_checkin(fan, show, checked_out=False)
    await client.close()
    await db.wait_for_checkin(fan, show, checked_out=True)


async def test_disconnect_leaves_every_show(db, connect):
    watcher, fan = db.add_user(), db.add_user()
    shows = [db.add_show(), db.add_show()]
    observers = []
    for show in shows:
        observer = await connect(watcher)
        await observer.join(show.id)
        observers.append(observer)
    client = await connect(fan)
    for show in shows:
        await client.join(show.id)
    await client.close()
    for show, observer in zip(shows, observers):
        left = await observer.wait_for("user_left", about(fan))
        assert left["show_id"] == show.id
        await db.wait_for_checkin(fan, show, checked_out=True)


async def test_dropped_connection_sends_user_left(db, connect):
    alice, bob, show = db.add_user(), db.add_user(), db.add_show()
    first, second = await connect(alice), await connect(bob)
    await first.join(show.id)
    await second.join(show.id)
    await second.drop()
    left = await first.wait_for("user_left", about(bob))
    assert [u["user_id"] for u in left["active_users"]] == [alice.id]
    await db.wait_for_checkin(bob, show, checked_out=True)


async def test_others_are_served_after_a_disconnect(db, connect):
    alice, bob, show = db.add_user(), db.add_user(), db.add_show()
    first, second = await connect(alice), await connect(bob)
    await first.join(show.id)
    await second.join(show.id)
    await second.close()
    await first.wait_for("user_left", about(bob))
    echo = await first.say(show.id, "just me now")
    assert echo["message"] == "just me now"
