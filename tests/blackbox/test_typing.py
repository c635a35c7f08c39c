"""typing: the others in the room see user_typing; the sender never does."""

import pytest
from support.client import about, for_show
from support.expect import assert_error, assert_includes
from support.scenes import pair_in_show


@pytest.mark.parametrize("is_typing", [True, False])
async def test_typing_reaches_the_others(is_typing, db, connect):
    show, alice, bob = await pair_in_show(db, connect)
    await alice.client.emit("typing", {"show_id": show.id, "is_typing": is_typing})
    typing = await bob.client.wait_for("user_typing", for_show(show.id))
    assert_includes(
        typing,
        {
            "show_id": show.id,
            "user_id": alice.user.id,
            "username": alice.user.username,
            "is_typing": is_typing,
        },
    )


async def test_typing_is_never_sent_back_to_the_sender(db, connect):
    show, alice, bob = await pair_in_show(db, connect)
    await alice.client.emit("typing", {"show_id": show.id, "is_typing": True})
    await bob.client.wait_for("user_typing", about(alice.user))
    await alice.client.active_users(show.id)  # barrier
    assert alice.client.received("user_typing") == []


async def test_typing_reaches_everyone_else_in_the_room(db, connect):
    show, alice, bob = await pair_in_show(db, connect)
    carol = await connect(db.add_user())
    await carol.join(show.id)
    await bob.client.emit("typing", {"show_id": show.id, "is_typing": True})
    for client in (alice.client, carol):
        assert (await client.wait_for("user_typing", about(bob.user)))["is_typing"] is True


async def test_typing_does_not_cross_rooms(db, connect):
    alice, bob, show, elsewhere = db.add_user(), db.add_user(), db.add_show(), db.add_show()
    first, second = await connect(alice), await connect(bob)
    await first.join(show.id)
    await first.join(elsewhere.id)
    await second.join(elsewhere.id)
    await first.emit("typing", {"show_id": show.id, "is_typing": True})
    await first.emit("typing", {"show_id": elsewhere.id, "is_typing": True})
    await second.wait_for("user_typing", for_show(elsewhere.id))
    await second.active_users(elsewhere.id)  # barrier
    assert second.received("user_typing", for_show(show.id)) == []


async def test_typing_outside_the_room_is_not_in_show_chat_room(db, connect):
    show, alice, _ = await pair_in_show(db, connect)
    outsider = await connect(db.add_user())
    await outsider.emit("typing", {"show_id": show.id, "is_typing": True})
    assert_error(await outsider.wait_for("error"), event="typing", message="Not in show chat room")
    await alice.client.active_users(show.id)  # barrier
    assert alice.client.received("user_typing") == []


async def test_typing_after_leaving_is_not_in_show_chat_room(db, connect):
    show, alice, bob = await pair_in_show(db, connect)
    await bob.client.leave(show.id)
    await bob.client.emit("typing", {"show_id": show.id, "is_typing": True})
    assert_error(
        await bob.client.wait_for("error"), event="typing", message="Not in show chat room"
    )
    await alice.client.active_users(show.id)  # barrier
    assert alice.client.received("user_typing") == []


@pytest.mark.parametrize("is_typing", ["yes", 1, None], ids=["string", "one", "null"])
async def test_typing_needs_a_boolean(is_typing, db, connect):
    show, alice, bob = await pair_in_show(db, connect)
    await alice.client.emit("typing", {"show_id": show.id, "is_typing": is_typing})
    assert_error(await alice.client.wait_for("error"), event="typing")
    await bob.client.active_users(show.id)  # barrier
    assert bob.client.received("user_typing") == []
