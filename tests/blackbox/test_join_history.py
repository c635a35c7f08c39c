"""join_show's message_history: the last HISTORY_LIMIT messages of that show, oldest first,
each as its new_message was, meeting the live messages with no gap and no repeat."""

import asyncio
from datetime import UTC, datetime

from support.client import about, for_show
from support.expect import assert_message
from support.settings import HISTORY_LIMIT


async def test_history_is_oldest_first(db, connect):
    fan, show = db.add_user(), db.add_show()
    ids = db.add_messages(show, fan, ["first", "second", "third"])
    client = await connect(fan)
    history, _ = await client.join(show.id)
    assert history["show_id"] == show.id
    assert [m["id"] for m in history["messages"]] == ids
    assert [m["message"] for m in history["messages"]] == ["first", "second", "third"]


async def test_history_is_the_last_50_messages(db, connect):
    fan, show = db.add_user(), db.add_show()
    ids = db.add_messages(show, fan, [f"message {n}" for n in range(HISTORY_LIMIT + 10)])
    client = await connect(fan)
    history, _ = await client.join(show.id)
    assert [m["id"] for m in history["messages"]] == ids[-HISTORY_LIMIT:]


async def test_history_messages_carry_every_field(db, connect):
    fan, show = db.add_user(), db.add_show()
    db.add_messages(
        show, fan, ["hello"], start=datetime(2024, 11, 16, 20, 15, 30, 123456, tzinfo=UTC)
    )
    client = await connect(fan)
    history, _ = await client.join(show.id)
    [message] = history["messages"]
    assert_message(message, show=show, user=fan, text="hello")
    assert message["created_at"].startswith("2024-11-16T20:15:30")
    assert message["created_at"].endswith("Z")


async def test_history_holds_only_this_shows_messages(db, connect):
    fan, show, other = db.add_user(), db.add_show(), db.add_show()
    db.add_messages(other, fan, ["elsewhere"])
    ids = db.add_messages(show, fan, ["here"])
    client = await connect(fan)
    history, _ = await client.join(show.id)
    assert [m["id"] for m in history["messages"]] == ids


async def test_history_of_an_empty_show_is_empty(db, connect):
    fan, show = db.add_user(), db.add_show()
    client = await connect(fan)
    history, _ = await client.join(show.id)
    assert history == {**history, "show_id": show.id, "messages": []}


async def test_history_messages_are_as_their_new_message_was(db, connect):
    fan, show = db.add_user(), db.add_show()
    client = await connect(fan)
    await client.join(show.id)
    sent = [await client.say(show.id, f"line {n}") for n in range(3)]
    latecomer = await connect(db.add_user())
    history, _ = await latecomer.join(show.id)
    assert history["messages"] == sent


async def test_history_for_the_joiner_only(db, connect):
    alice, bob, show = db.add_user(), db.add_user(), db.add_show()
    first = await connect(alice)
    await first.join(show.id)
    since = first.mark()
    second = await connect(bob)
    await second.join(show.id)
    await first.wait_for("user_joined", about(bob), since=since)
    await first.active_users(show.id)  # barrier
    assert first.received("message_history", for_show(show.id), since=since) == []


async def test_joining_during_a_conversation_sees_each_message_once(db, connect):
    """History and live messages meet with no gap and no repeat, however they interleave."""
    talker, show = db.add_user(), db.add_show()
    speaker = await connect(talker)
    await speaker.join(show.id)
    joiner = await connect(db.add_user())

    async def talk() -> list[int]:
        return [(await speaker.say(show.id, f"live {n}"))["id"] for n in range(8)]

    since = joiner.mark()
    sent, _ = await asyncio.gather(talk(), joiner.join(show.id))
    await joiner.wait_until(lambda: sent[-1] in seen_ids(joiner, since), what="the last message")
    assert seen_ids(joiner, since) == sent


def seen_ids(client, since: int) -> list[int]:
    """Ids of the messages a connection got, from its history and then live, in order."""
    ids = []
    for name, data in client.events[since:]:
        if name == "message_history":
            ids += [message["id"] for message in data["messages"]]
        elif name == "new_message":
            ids.append(data["id"])
    return ids
