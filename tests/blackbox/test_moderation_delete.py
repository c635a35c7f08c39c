"""delete_message: an author's own message for a while, any message for a moderator or an
admin (the JSON `true` claim only); kept in the database as deleted, announced to the
room, left out of every history; resuming clients are told."""

import pytest
from support.client import for_show
from support.moderation import act, add_moderator, audit, deletion, ok, refused
from support.scenes import pair_in_show


async def test_author_deletes_own_message_and_the_room_is_told(db, connect):
    show, alice, bob = await pair_in_show(db, connect)
    echo = await alice.client.say(show.id, "oops")
    ack = ok(
        await act(alice.client, "delete_message", {"show_id": show.id, "message_id": echo["id"]})
    )
    assert ack["message_id"] == echo["id"]
    gone = await bob.client.wait_for("message_deleted", for_show(show.id))
    assert gone == {"show_id": show.id, "message_id": echo["id"]}
    row = deletion(db, echo["id"])
    assert row.deleted_at is not None and row.deleted_by == alice.user.id
    assert [a.action for a in audit(db, show)] == ["delete_message"]


async def test_deleted_message_is_left_out_of_histories(db, connect, http, tokens):
    show, alice, bob = await pair_in_show(db, connect)
    kept = await alice.client.say(show.id, "kept")
    gone = await alice.client.say(show.id, "gone")
    ok(await act(alice.client, "delete_message", {"show_id": show.id, "message_id": gone["id"]}))
    late = await connect(db.add_user())
    history, _ = await late.join(show.id)
    assert [m["id"] for m in history["messages"]] == [kept["id"]]
    page = await bob.client.call("get_message_history", {"show_id": show.id})
    assert [m["id"] for m in page["messages"]] == [kept["id"]]
    rest = await http.get(
        f"/api/shows/{show.id}/messages",
        headers={"Authorization": f"Bearer {tokens.access(bob.user.id)}"},
    )
    assert [m["id"] for m in rest.json()["messages"]] == [kept["id"]]


async def test_deleting_again_is_ok_without_a_second_event(db, connect):
    show, alice, bob = await pair_in_show(db, connect)
    echo = await alice.client.say(show.id, "twice")
    payload = {"show_id": show.id, "message_id": echo["id"]}
    ok(await act(alice.client, "delete_message", payload))
    await bob.client.wait_for("message_deleted", for_show(show.id))
    ok(await act(alice.client, "delete_message", payload))
    await bob.client.active_users(show.id)  # barrier
    assert len(bob.client.received("message_deleted")) == 1


async def test_someone_elses_message_is_forbidden(db, connect):
    show, alice, bob = await pair_in_show(db, connect)
    echo = await alice.client.say(show.id, "mine")
    payload = {"show_id": show.id, "message_id": echo["id"]}
    refused(await act(bob.client, "delete_message", payload), "Forbidden")
    assert deletion(db, echo["id"]).deleted_at is None


async def test_own_message_after_the_window_is_forbidden(db, connect):
    show, alice, _ = await pair_in_show(db, connect)
    from datetime import UTC, datetime, timedelta

    [old] = db.add_messages(show, alice.user, ["old"], start=datetime.now(UTC) - timedelta(hours=1))
    refused(
        await act(alice.client, "delete_message", {"show_id": show.id, "message_id": old}),
        "Forbidden",
    )


async def test_unknown_message_is_message_not_found(db, connect):
    show, alice, _ = await pair_in_show(db, connect)
    other = db.add_show()
    [elsewhere] = db.add_messages(other, alice.user, ["elsewhere"])
    for message_id in (elsewhere, 2**40):
        payload = {"show_id": show.id, "message_id": message_id}
        refused(await act(alice.client, "delete_message", payload), "Message not found")


async def test_moderator_deletes_any_message(db, connect):
    show, alice, bob = await pair_in_show(db, connect)
    add_moderator(db, show, bob.user)
    [old] = db.add_messages(show, alice.user, ["old"])
    ok(await act(bob.client, "delete_message", {"show_id": show.id, "message_id": old}))
    assert deletion(db, old).deleted_by == bob.user.id


@pytest.mark.parametrize(("claim", "allowed"), [(True, True), ("true", False), (1, False)])
async def test_admin_claim_must_be_json_true(claim, allowed, db, connect, tokens):
    show, alice, _ = await pair_in_show(db, connect)
    [old] = db.add_messages(show, alice.user, ["old"])
    admin = db.add_user()
    client = await connect(admin, token=tokens.access(admin.id, is_admin=claim))
    ack = await act(client, "delete_message", {"show_id": show.id, "message_id": old})
    if allowed:
        ok(ack)
    else:
        refused(ack, "Forbidden")


async def test_resuming_client_is_told_of_deletions_before_its_history(db, connect):
    show, alice, bob = await pair_in_show(db, connect)
    first = await alice.client.say(show.id, "first")
    second = await alice.client.say(show.id, "second")
    await bob.client.close()
    ok(await act(alice.client, "delete_message", {"show_id": show.id, "message_id": first["id"]}))
    again = await connect(bob.user)
    since = again.mark()
    ack = await again.call("join_show", {"show_id": show.id, "last_message_id": second["id"]})
    assert ack["ok"] is True
    await again.wait_for("message_history", for_show(show.id), since=since)
    names = again.names(since)
    assert names.index("message_deleted") < names.index("message_history")
    assert again.received("message_deleted", since=since) == [
        {"show_id": show.id, "message_id": first["id"]}
    ]


@pytest.mark.parametrize(
    "payload",
    [
        {"show_id": "SHOW"},
        {"show_id": "SHOW", "message_id": "1"},
        {"show_id": "SHOW", "message_id": 0},
        {"show_id": "SHOW", "message_id": 1, "extra": True},
        {"show_id": "SHOW", "message_id": 1, "reason": "x" * 201},
    ],
)
async def test_bad_payloads_are_invalid(payload, db, connect):
    show, alice, _ = await pair_in_show(db, connect)
    payload = {k: show.id if v == "SHOW" else v for k, v in payload.items()}
    refused(await act(alice.client, "delete_message", payload), "Invalid payload")
