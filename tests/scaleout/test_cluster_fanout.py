"""Fan-out across processes: a message sent to any process reaches every member of the show
on every process, exactly once, in id order."""

import asyncio
import json

from support.client import for_show
from support.expect import acked_message, assert_message
from support.rigs import stored
from support.scaleout import assert_once_in_order, message_ids

MEMBERS_PER_PROCESS = 3
SENDERS_PER_PROCESS = 3
MESSAGES_EACH = 30


async def test_messages_sent_through_every_process_reach_every_member_once_in_id_order(
    trio, scaleout_db
):
    db, show = scaleout_db, scaleout_db.add_show()
    members = []  # (user, client, process)
    for process in range(len(trio)):
        for _ in range(MEMBERS_PER_PROCESS):
            user = db.add_user()
            client = await trio.connect(user, process)
            await client.join(show.id)
            members.append((user, client, process))
    senders = [
        (user, client)
        for index, (user, client, _) in enumerate(members)
        if index % MEMBERS_PER_PROCESS < SENDERS_PER_PROCESS
    ]
    marks = {id(client): client.mark() for _, client, _ in members}

    async def send_all(user, client) -> list[dict]:
        # Every message in flight at once: the process stores them as they come, in
        # batches, while the other processes store theirs.
        acks = await asyncio.gather(
            *(
                client.call(
                    "send_message", {"show_id": show.id, "message": f"{user.username} #{n}"}
                )
                for n in range(MESSAGES_EACH)
            )
        )
        return [acked_message(ack) for ack in acks]

    sent = [
        message
        for batch in await asyncio.gather(*(send_all(*s) for s in senders))
        for message in batch
    ]
    expected = sorted(message["id"] for message in sent)
    assert len(set(expected)) == len(senders) * MESSAGES_EACH, "two acks carry the same id"
    by_id = {message["id"]: message for message in sent}
    users = {user.id: user for user, _, _ in members}

    async def everything_arrived(client) -> None:
        await client.wait_until(
            lambda: set(message_ids(client, show.id, marks[id(client)])) >= set(expected),
            timeout=30,
            what=f"all {len(expected)} messages",
        )

    await asyncio.gather(*(everything_arrived(client) for _, client, _ in members))
    # A marker through every process, after all of the above: anything still on its way
    # (a second copy) would arrive before it.
    markers = [
        acked_message(await client.call("send_message", {"show_id": show.id, "message": "marker"}))[
            "id"
        ]
        for user, client, process in members[::MEMBERS_PER_PROCESS]
    ]
    for user, client, process in members:
        await client.wait_until(
            lambda: set(message_ids(client, show.id, marks[id(client)])) >= set(markers),
            what="the markers",
        )
        received = message_ids(client, show.id, marks[id(client)])
        assert_once_in_order(
            received, sorted(expected + markers), f"{user.username} on process {process}"
        )
        for payload in client.received("new_message", for_show(show.id), marks[id(client)]):
            if payload["id"] in by_id:
                original = by_id[payload["id"]]
                assert payload == original, f"new_message differs from the ack: {payload}"
                assert_message(
                    payload, show=show, user=users[original["user_id"]], text=original["message"]
                )
    assert [row.id for row in stored(db, show)] == sorted(expected + markers)


async def test_history_on_one_process_holds_messages_sent_through_the_others(trio, scaleout_db):
    db, show = scaleout_db, scaleout_db.add_show()
    alice, bob, carol = db.add_user(), db.add_user(), db.add_user()
    first = await trio.connect(alice, 0)
    await first.join(show.id)
    second = await trio.connect(bob, 1)
    await second.join(show.id)
    said = [await first.say(show.id, "from process 0"), await second.say(show.id, "from 1")]

    third = await trio.connect(carol, 2)
    history, _ = await third.join(show.id)
    assert history["messages"] == said


async def test_a_message_published_the_way_of_earlier_versions_reaches_every_member_once(
    trio, scaleout_db, session_redis
):
    """Processes now publish a group commit's messages as one Redis message; one published
    alone (by a process still on an earlier version, during a rolling upgrade) goes through
    the feed too: delivered on every process, once even if it comes twice."""
    db, show = scaleout_db, scaleout_db.add_show()
    sender = db.add_user()
    members = await trio.one_member_on_each(db, show)
    [message_id] = db.add_messages(show, sender, ["from an earlier version"])
    payload = {
        "id": message_id,
        "show_id": show.id,
        "user_id": sender.id,
        "username": sender.username,
        "message": "from an earlier version",
        "created_at": "2026-11-27T22:00:00.000Z",
        "client_msg_id": None,
    }
    redis = session_redis.client()  # channels are not per database
    channels = [c.decode() for c in redis.pubsub_channels() if c.endswith(b":socketio")]
    assert channels, "the trio subscribes to its channel"
    for _ in range(2):
        for channel in channels:
            redis.publish(
                channel,
                json.dumps(
                    {
                        "method": "emit",
                        "event": "new_message",
                        "data": [payload],
                        "binary": False,
                        "namespace": "/",
                        "room": f"show:{show.id}",
                        "skip_sid": None,
                        "callback": None,
                        "host_id": "feed",
                    }
                ),
            )
    marker = await members[0].say(show.id, "after it")  # through Redis, after both copies
    for client in members:
        await client.wait_for("new_message", lambda data: data["id"] == marker["id"])
        assert client.received("new_message", for_show(show.id)) == [payload, marker]
