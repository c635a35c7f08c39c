"""timeout_user, ban_user (with purge), unban_user and set_slow_mode: who may, what the room
is told, the errors, and the order of refusals on send_message."""

from datetime import UTC, datetime, timedelta

import pytest
from support.client import about, for_show
from support.moderation import act, add_moderator, audit, deletion, ok, refused
from support.scenes import pair_in_show


async def moderated(db, connect):
    """A show with alice (a fan) and bob (a moderator) in it."""
    show, alice, bob = await pair_in_show(db, connect)
    add_moderator(db, show, bob.user)
    return show, alice, bob


def send(show, text="hi"):
    return {"show_id": show.id, "message": text}


async def test_timeout_refuses_sends_and_is_announced(db, connect):
    show, alice, bob = await moderated(db, connect)
    ack = ok(
        await act(
            bob.client,
            "timeout_user",
            {"show_id": show.id, "user_id": alice.user.id, "seconds": 60},
        )
    )
    told = await alice.client.wait_for("user_timed_out", for_show(show.id))
    assert told["user_id"] == alice.user.id and told["username"] == alice.user.username
    assert told["until"] == ack["until"] and told["until"].endswith("Z")
    error = refused(await act(alice.client, "send_message", send(show)), "Timed out")
    assert 55_000 < error["retry_after_ms"] <= 60_000
    ok(
        await act(
            bob.client, "timeout_user", {"show_id": show.id, "user_id": alice.user.id, "seconds": 0}
        )
    )
    ok(await act(alice.client, "send_message", send(show)))
    assert [a.action for a in audit(db, show)] == ["timeout_user", "lift_timeout"]


async def test_fan_may_not_moderate(db, connect):
    show, alice, bob = await pair_in_show(db, connect)
    for event, payload in [
        ("timeout_user", {"user_id": bob.user.id, "seconds": 60}),
        ("ban_user", {"user_id": bob.user.id}),
        ("unban_user", {"user_id": bob.user.id}),
        ("set_slow_mode", {"seconds": 5}),
    ]:
        refused(await act(alice.client, event, {"show_id": show.id, **payload}), "Forbidden")
    ok(await act(bob.client, "send_message", send(show)))
    assert audit(db, show) == []


async def test_moderator_cannot_act_on_another_moderator_but_an_admin_can(db, connect, tokens):
    show, alice, bob = await moderated(db, connect)
    add_moderator(db, show, alice.user)
    payload = {"show_id": show.id, "user_id": alice.user.id}
    refused(await act(bob.client, "ban_user", payload), "Forbidden")
    refused(await act(bob.client, "timeout_user", {**payload, "seconds": 9}), "Forbidden")
    admin = db.add_user()
    boss = await connect(admin, token=tokens.access(admin.id, is_admin=True))
    ok(await act(boss, "timeout_user", {**payload, "seconds": 9}))


async def test_unknown_user_is_user_not_found(db, connect):
    show, _, bob = await moderated(db, connect)
    payload = {"show_id": show.id, "user_id": 2_000_000_000}
    refused(await act(bob.client, "ban_user", payload), "User not found")
    refused(await act(bob.client, "timeout_user", {**payload, "seconds": 5}), "User not found")


async def test_ban_removes_the_user_and_refuses_joins(db, connect):
    show, alice, bob = await moderated(db, connect)
    second_tab = await connect(alice.user)
    await second_tab.join(show.id)
    ok(
        await act(
            bob.client, "ban_user", {"show_id": show.id, "user_id": alice.user.id, "reason": "spam"}
        )
    )
    for tab in (alice.client, second_tab):
        assert await tab.wait_for("banned") == {"show_id": show.id}
    await bob.client.wait_for("user_left", about(alice.user))
    refused(await act(alice.client, "join_show", {"show_id": show.id}), "Banned from show")
    refused(await act(alice.client, "send_message", send(show)), "Banned from show")
    ok(await act(bob.client, "unban_user", {"show_id": show.id, "user_id": alice.user.id}))
    await alice.client.join(show.id)
    [ban, unban] = audit(db, show)
    assert (ban.action, ban.reason, ban.actor_id) == ("ban_user", "spam", bob.user.id)
    assert unban.action == "unban_user"


async def test_purge_deletes_the_last_day_of_messages(db, connect):
    show, alice, bob = await moderated(db, connect)
    [old] = db.add_messages(show, alice.user, ["old"], start=datetime.now(UTC) - timedelta(days=2))
    recent = db.add_messages(show, alice.user, ["one", "two"])
    [others] = db.add_messages(show, bob.user, ["bob's"])
    ack = ok(
        await act(
            bob.client, "ban_user", {"show_id": show.id, "user_id": alice.user.id, "purge": True}
        )
    )
    assert ack["purged"] == 2
    await bob.client.wait_until(lambda: len(bob.client.received("message_deleted")) == 2)
    assert sorted(m["message_id"] for m in bob.client.received("message_deleted")) == recent
    assert deletion(db, old).deleted_at is None and deletion(db, others).deleted_at is None
    purge = audit(db, show)[-1]
    assert (purge.action, purge.count) == ("purge", 2)


async def test_slow_mode_slows_fans_but_not_moderators(db, connect):
    show, alice, bob = await moderated(db, connect)
    ok(await act(bob.client, "set_slow_mode", {"show_id": show.id, "seconds": 30}))
    assert await alice.client.wait_for("slow_mode") == {"show_id": show.id, "seconds": 30}
    ok(await act(alice.client, "send_message", send(show)))
    error = refused(await act(alice.client, "send_message", send(show)), "Slow mode")
    assert 25_000 < error["retry_after_ms"] <= 30_000
    for _ in range(3):
        ok(await act(bob.client, "send_message", send(show)))
    joiner = await connect(db.add_user())
    since = joiner.mark()
    await joiner.join(show.id)
    names = joiner.names(since)
    assert names.index("active_users") < names.index("slow_mode")
    ok(await act(bob.client, "set_slow_mode", {"show_id": show.id, "seconds": 0}))
    ok(await act(alice.client, "send_message", send(show)))


async def test_slow_mode_counts_from_the_last_stored_message(db, connect):
    show, alice, bob = await moderated(db, connect)
    db.add_messages(show, alice.user, ["just now"], start=datetime.now(UTC) - timedelta(seconds=5))
    ok(await act(bob.client, "set_slow_mode", {"show_id": show.id, "seconds": 60}))
    error = refused(await act(alice.client, "send_message", send(show)), "Slow mode")
    assert 50_000 < error["retry_after_ms"] <= 56_000


async def test_refusals_come_in_order_and_spend_no_token(db, connect):
    show, alice, bob = await moderated(db, connect)
    ok(await act(bob.client, "set_slow_mode", {"show_id": show.id, "seconds": 60}))
    ok(
        await act(
            bob.client,
            "timeout_user",
            {"show_id": show.id, "user_id": alice.user.id, "seconds": 60},
        )
    )
    for _ in range(30):  # past every rate limit's burst, had tokens been spent
        refused(await act(alice.client, "send_message", send(show)), "Timed out")
    ok(await act(bob.client, "set_slow_mode", {"show_id": show.id, "seconds": 0}))
    ok(
        await act(
            bob.client, "timeout_user", {"show_id": show.id, "user_id": alice.user.id, "seconds": 0}
        )
    )
    ok(await act(alice.client, "send_message", send(show)))


@pytest.mark.parametrize(
    ("event", "payload"),
    [
        ("timeout_user", {"user_id": "USER", "seconds": 86_401}),
        ("timeout_user", {"user_id": "USER", "seconds": -1}),
        ("timeout_user", {"user_id": "USER"}),
        ("timeout_user", {"user_id": "USER", "seconds": "5"}),
        ("ban_user", {"user_id": "USER", "purge": "yes"}),
        ("ban_user", {"user_id": "USER", "extra": 1}),
        ("ban_user", {}),
        ("unban_user", {"user_id": None}),
        ("set_slow_mode", {"seconds": 601}),
        ("set_slow_mode", {"seconds": 5, "reason": "y" * 201}),
    ],
)
async def test_bad_payloads_are_invalid(event, payload, db, connect):
    show, alice, bob = await moderated(db, connect)
    payload = {k: alice.user.id if v == "USER" else v for k, v in payload.items()}
    refused(await act(bob.client, event, {"show_id": show.id, **payload}), "Invalid payload")
    ok(await act(alice.client, "send_message", send(show)))
    assert audit(db, show) == []


async def test_a_refused_send_starts_no_slow_mode_window(db, connect):
    """Slow mode counts from the last stored message: a send refused after the slow-mode
    check (here: from a tab that has not joined the show) leaves the window unstarted."""
    show, alice, bob = await moderated(db, connect)
    other_tab = await connect(alice.user)
    ok(await act(bob.client, "set_slow_mode", {"show_id": show.id, "seconds": 60}))
    refused(await act(other_tab, "send_message", send(show)), "Not in show chat room")
    ok(await act(alice.client, "send_message", send(show)))
    refused(await act(alice.client, "send_message", send(show)), "Slow mode")


async def test_a_retry_during_slow_mode_gets_its_stored_message(db, connect):
    """A client that lost its ack retries with the same client_msg_id: it is answered with
    the message stored, as before the rate limit, not refused `Slow mode`."""
    show, alice, bob = await moderated(db, connect)
    ok(await act(bob.client, "set_slow_mode", {"show_id": show.id, "seconds": 60}))
    first = ok(await act(alice.client, "send_message", {**send(show), "client_msg_id": "r-1"}))
    again = ok(await act(alice.client, "send_message", {**send(show), "client_msg_id": "r-1"}))
    assert again["message"]["id"] == first["message"]["id"]
    refused(
        await act(alice.client, "send_message", {**send(show), "client_msg_id": "r-2"}), "Slow mode"
    )
