"""Event names: unknown ones and the names Socket.IO keeps for itself are refused with an
error, and do not disconnect, reconnect or otherwise change anything."""

import pytest
from support.client import about
from support.expect import active_user_ids, assert_error, assert_failed_ack
from support.scenes import assert_still_usable, pair_in_show

RESERVED = ["disconnect", "connect", "connect_error", "disconnecting"]


async def test_unknown_event_gets_an_error(db, connect):
    show, alice, _ = await pair_in_show(db, connect)
    await alice.client.emit("definitely_not_an_event", {"show_id": show.id})
    assert_error(await alice.client.wait_for("error"), event="definitely_not_an_event")
    await assert_still_usable(alice, show)


@pytest.mark.parametrize("event", RESERVED)
async def test_reserved_event_from_a_client_changes_nothing(event, db, connect):
    show, alice, bob = await pair_in_show(db, connect)
    sid = bob.client.sid
    since = alice.client.mark()
    await bob.client.emit(event, {"show_id": show.id})
    assert_error(await bob.client.wait_for("error"), event=event)
    await assert_still_usable(bob, show)
    assert bob.client.sid == sid and bob.client.received("disconnect") == []
    assert len(bob.client.received("connected")) == 1
    active = await alice.client.active_users(show.id)  # barrier for alice
    assert sorted(active_user_ids(active)) == sorted([alice.user.id, bob.user.id])
    assert alice.client.received("user_left", about(bob.user), since=since) == []
    assert alice.client.received("user_joined", about(bob.user), since=since) == []


@pytest.mark.parametrize("event", RESERVED)
async def test_reserved_event_with_an_ack_gets_a_failed_ack(event, db, connect):
    show, alice, _ = await pair_in_show(db, connect)
    assert_failed_ack(await alice.client.call(event, {"show_id": show.id}))
    await assert_still_usable(alice, show)


async def test_reserved_disconnect_keeps_the_checkin_open(db, connect):
    show, alice, bob = await pair_in_show(db, connect)
    await db.wait_for_checkin(bob.user, show, checked_out=False)
    await bob.client.call("disconnect", {"show_id": show.id})
    await bob.client.active_users(show.id)
    assert db.checkin(bob.user, show).checked_out_at is None


async def test_event_name_that_is_not_valid_unicode_gets_an_error(db, connect):
    show, alice, _ = await pair_in_show(db, connect)
    since = alice.client.mark()
    await alice.client.emit("\ud800", {"show_id": show.id})
    await assert_still_usable(alice, show)  # also a barrier: the error would be in by now
    errors = alice.client.received("error", since=since)
    assert len(errors) == 1, f"expected one error event, got {errors}"
    assert {"message", "details", "event"} <= errors[0].keys(), errors[0]
