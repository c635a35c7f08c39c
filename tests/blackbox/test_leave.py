"""leave_show: the others are told, presence and the check-in row follow."""

from support.client import about
from support.expect import active_user_ids, assert_includes
from support.scenes import assert_still_usable, fan_in_show, pair_in_show


async def test_leave_sends_user_left_to_the_others(db, connect):
    show, alice, bob = await pair_in_show(db, connect)
    await bob.client.leave(show.id)
    left = await alice.client.wait_for("user_left", about(bob.user))
    assert_includes(
        left,
        {
            "show_id": show.id,
            "user_id": bob.user.id,
            "username": bob.user.username,
            "message": f"{bob.user.username} left the chat",
        },
    )
    assert [u["user_id"] for u in left["active_users"]] == [alice.user.id]


async def test_leaver_gets_no_user_left(db, connect):
    show, alice, bob = await pair_in_show(db, connect)
    since = bob.client.mark()
    await bob.client.leave(show.id)
    await alice.client.wait_for("user_left", about(bob.user))
    await bob.client.active_users(show.id)  # barrier
    assert bob.client.received("user_left", since=since) == []


async def test_after_leaving_the_active_users_no_longer_list_them(db, connect):
    show, alice, bob = await pair_in_show(db, connect)
    await bob.client.leave(show.id)
    assert active_user_ids(await alice.client.active_users(show.id)) == [alice.user.id]


async def test_leave_sets_checked_out_at(db, connect):
    show, _, bob = await pair_in_show(db, connect)
    await db.wait_for_checkin(bob.user, show, checked_out=False)
    await bob.client.leave(show.id)
    row = await db.wait_for_checkin(bob.user, show, checked_out=True)
    assert row.checked_out_at >= row.checked_in_at


async def test_after_leaving_no_more_messages_arrive(db, connect):
    show, alice, bob = await pair_in_show(db, connect)
    await bob.client.leave(show.id)
    since = bob.client.mark()
    await alice.client.say(show.id, "anyone still here?")
    await bob.client.active_users(show.id)  # barrier
    assert bob.client.received("new_message", since=since) == []


async def test_last_one_leaving_empties_the_show(db, connect):
    show, fan = await fan_in_show(db, connect)
    await fan.client.leave(show.id)
    assert (await fan.client.active_users(show.id))["active_users"] == []


async def test_leaving_a_show_never_joined_changes_nothing(db, connect):
    show, alice, bob = await pair_in_show(db, connect)
    elsewhere = db.add_show()
    since = alice.client.mark()
    ack = await bob.client.call("leave_show", {"show_id": elsewhere.id})
    assert isinstance(ack, dict) and "ok" in ack
    await alice.client.active_users(show.id)  # barrier
    assert alice.client.received("user_left", since=since) == []
    active = await bob.client.active_users(show.id)
    assert sorted(active_user_ids(active)) == sorted([alice.user.id, bob.user.id])
    assert db.checkin(bob.user, elsewhere) is None


async def test_connection_is_usable_after_leaving(db, connect):
    show, fan = await fan_in_show(db, connect)
    await fan.client.leave(show.id)
    await fan.client.join(show.id)
    await assert_still_usable(fan, show)
