"""send_message: delivered to the whole room, sender included, after it is saved."""

import asyncio
from datetime import UTC, datetime, timedelta

from support.client import for_show
from support.expect import acked_message, assert_message
from support.scenes import pair_in_show


async def test_send_message_reaches_everyone_including_sender(db, connect):
    show, alice, bob = await pair_in_show(db, connect)
    echo = await alice.client.say(show.id, "This opening act is incredible!")
    assert_message(echo, show=show, user=alice.user, text="This opening act is incredible!")
    assert await bob.client.wait_for("new_message", for_show(show.id)) == echo


async def test_new_message_does_not_reach_other_shows(db, connect):
    show, alice, _ = await pair_in_show(db, connect)
    elsewhere = db.add_show()
    outsider = await connect(db.add_user())
    await outsider.join(elsewhere.id)
    await alice.client.say(show.id, "only for this show")
    await outsider.active_users(elsewhere.id)  # barrier
    assert outsider.received("new_message") == []


async def test_new_message_does_not_reach_connections_that_never_joined(db, connect):
    show, alice, _ = await pair_in_show(db, connect)
    lurker = await connect(db.add_user())
    await alice.client.say(show.id, "members only")
    await lurker.active_users(show.id)  # barrier
    assert lurker.received("new_message") == []


async def test_message_is_saved_in_chat_messages(db, connect):
    show, alice, _ = await pair_in_show(db, connect)
    echo = await alice.client.say(show.id, "saved?")
    rows = db.messages(show)
    assert [(r.id, r.show_id, r.user_id, r.message) for r in rows] == [
        (echo["id"], show.id, alice.user.id, "saved?")
    ]


async def test_message_is_saved_before_the_ack(db, connect):
    show, alice, _ = await pair_in_show(db, connect)
    ack = await alice.client.call("send_message", {"show_id": show.id, "message": "durable"})
    row = db.message(acked_message(ack)["id"])  # read as soon as the ack is in: no waiting
    assert row is not None and row.message == "durable"


async def test_message_is_saved_before_the_broadcast(db, connect):
    show, alice, bob = await pair_in_show(db, connect)
    await alice.client.emit("send_message", {"show_id": show.id, "message": "durable too"})
    delivered = await bob.client.wait_for("new_message", for_show(show.id))
    row = db.message(delivered["id"])
    assert row is not None and row.message == "durable too"


async def test_ack_carries_the_saved_message(db, connect):
    show, alice, _ = await pair_in_show(db, connect)
    since = alice.client.mark()
    ack = await alice.client.call("send_message", {"show_id": show.id, "message": "acked"})
    saved = acked_message(ack)
    assert_message(saved, show=show, user=alice.user, text="acked")
    echo = await alice.client.wait_for("new_message", for_show(show.id), since=since)
    assert {key: echo[key] for key in saved} == saved


async def test_created_at_is_now_in_utc(db, connect):
    show, alice, _ = await pair_in_show(db, connect)
    before = datetime.now(UTC) - timedelta(seconds=2)
    echo = await alice.client.say(show.id, "what time is it?")
    after = datetime.now(UTC) + timedelta(seconds=2)
    created = datetime.fromisoformat(echo["created_at"].replace("Z", "+00:00"))
    assert before <= created <= after


async def test_message_ids_increase(db, connect):
    show, alice, bob = await pair_in_show(db, connect)
    senders = [alice.client, bob.client] * 3
    ids = [(await client.say(show.id, f"number {n}"))["id"] for n, client in enumerate(senders)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


async def test_everyone_sees_the_messages_in_the_same_order(db, connect):
    show, alice, bob = await pair_in_show(db, connect)
    for n in range(3):
        await alice.client.emit("send_message", {"show_id": show.id, "message": f"a{n}"})
        await bob.client.emit("send_message", {"show_id": show.id, "message": f"b{n}"})
    for person in (alice, bob):
        await person.client.wait_until(
            lambda p=person: len(p.client.received("new_message")) == 6, what="six new_message"
        )
    seen = [[m["id"] for m in person.client.received("new_message")] for person in (alice, bob)]
    assert seen[0] == seen[1] == sorted(seen[0])


async def test_sent_messages_appear_in_the_next_history(db, connect):
    show, alice, _ = await pair_in_show(db, connect)
    sent = [await alice.client.say(show.id, f"line {n}") for n in range(3)]
    latecomer = await connect(db.add_user())
    history, _ = await latecomer.join(show.id)
    assert history["messages"] == sent


async def test_concurrent_senders_each_get_the_id_of_their_own_row(db, connect):
    """Messages sent at once are stored together (one group commit): each ack's id is the
    row holding that sender's text, in that sender's show, and every member got it."""
    shows = [db.add_show() for _ in range(3)]
    people = []
    for show in shows:
        for _ in range(3):
            user = db.add_user()
            client = await connect(user)
            await client.join(show.id)
            people.append((show, user, client))

    async def send(show, user, client, n):
        text = f"{user.id} in {show.id}: {n}"
        ack = await client.call("send_message", {"show_id": show.id, "message": text})
        return show, user, text, acked_message(ack)

    sent = await asyncio.gather(
        *(send(show, user, client, n) for show, user, client in people for n in range(4))
    )
    for show, user, text, saved in sent:
        row = db.message(saved["id"])
        assert (row.show_id, row.user_id, row.message) == (show.id, user.id, text)
        assert_message(saved, show=show, user=user, text=text)
    for show, _, client in people:
        expected = sorted(saved["id"] for s, _, _, saved in sent if s is show)
        count = len(expected)
        await client.wait_until(
            lambda c=client, n=count: len(c.received("new_message")) >= n,
            what="every message of the show",
        )
        assert [m["id"] for m in client.received("new_message")] == expected
