"""Gapless resume: a client that lost its connection joins again with the id of the last
message it saw, and gets every message after it exactly once, in order, history first."""

import asyncio

from support.client import ChatClient, for_show
from support.expect import acked_message
from support.rigs import Rig, stored
from support.settings import TIMEOUT

RESUME_LIMIT = 500  # messages a resuming client gets at most; it pages back for the rest


def ids(messages) -> list[int]:
    return [message["id"] for message in messages]


async def resume(client: ChatClient, show, last_message_id: int) -> tuple[dict, int]:
    """join_show with last_message_id; the message_history, and where it is in `events`."""
    since = client.mark()
    ack = await client.call("join_show", {"show_id": show.id, "last_message_id": last_message_id})
    assert isinstance(ack, dict) and ack.get("ok") is True, ack
    history = await client.wait_for("message_history", for_show(show.id), since=since)
    return history, since


def history_comes_first(client: ChatClient, show, since: int) -> None:
    """On this connection, no new_message of the show arrived before its message_history."""
    names = [
        name
        for name, data in client.events[since:]
        if name in ("new_message", "message_history") and for_show(show.id)(data)
    ]
    assert names and names[0] == "message_history", f"events after the join: {names[:10]}"


async def test_resume_sends_exactly_the_messages_after_last_message_id(roomy_rig):
    rig = roomy_rig
    fan, show = rig.db.add_user(), rig.db.add_show()
    sender = await rig.connect(fan)
    await sender.join(show.id)
    sent = [
        acked_message(
            await sender.call(
                "send_message",
                {"show_id": show.id, "message": f"line {n}", "client_msg_id": f"l{n}"},
            )
        )
        for n in range(20)
    ]
    await sender.wait_until(lambda: len(live_ids(sender, show)) == 20, what="20 echoes")
    echoes = sender.received("new_message", for_show(show.id))
    assert ids(echoes) == ids(sent)

    returning = await rig.connect(rig.db.add_user())
    history, _ = await resume(returning, show, sent[11]["id"])
    # Exactly what was missed, oldest first, each as its new_message was.
    assert history["messages"] == echoes[12:]
    assert history["has_more"] is False


async def test_resume_at_the_newest_message_gets_an_empty_history(roomy_rig):
    rig = roomy_rig
    fan, show = rig.db.add_user(), rig.db.add_show()
    client = await rig.connect(fan)
    await client.join(show.id)
    newest = (await client.say(show.id, "the last word"))["id"]
    again = await rig.connect(fan)
    history, _ = await resume(again, show, newest)
    assert history["messages"] == [] and history["has_more"] is False


async def send_until(
    client: ChatClient, show, tag: str, stop: asyncio.Event, acked: list[int]
) -> None:
    """Send acknowledged messages back to back until told to stop."""
    n = 0
    while not stop.is_set():
        ack = await client.call(
            "send_message",
            {"show_id": show.id, "message": f"{tag} {n}", "client_msg_id": f"{tag}-{n}"},
        )
        acked.append(acked_message(ack)["id"])
        n += 1
        assert n < 5000, "the test never told the senders to stop"


def live_ids(client: ChatClient, show, since: int = 0) -> list[int]:
    return ids(client.received("new_message", for_show(show.id), since))


async def test_cut_transport_then_resume_misses_nothing_and_repeats_nothing(roomy_rig):
    """Three times over: Alice's websocket is cut mid-stream (no goodbye) while two others
    keep sending; she reconnects with the last id she saw. Across all her connections she
    sees every message of the show exactly once, in id order, and on each new connection the
    history comes before any live message. A member who never left sees them all in order."""
    rig: Rig = roomy_rig
    alice, bob, carol, dave = (rig.db.add_user() for _ in range(4))
    show = rig.db.add_show()
    watcher = await rig.connect(dave)
    await watcher.join(show.id)
    senders = [await rig.connect(user) for user in (bob, carol)]
    for sender in senders:
        await sender.join(show.id)
    current = await rig.connect(alice)
    await current.join(show.id)

    seen: list[int] = []  # every message Alice got, over all her connections, in order
    acked: list[int] = []
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(send_until(sender, show, tag, stop, acked))
        for sender, tag in zip(senders, ("bob", "carol"))
    ]
    try:
        since = current.mark()
        for _cut in range(3):
            # Messages flow to Alice...
            await current.wait_until(
                lambda: len(live_ids(current, show, since)) >= 15,
                what="15 live messages before the cut",
            )
            # ...and her transport dies mid-stream.
            await current.drop()
            seen += live_ids(current, show, since)
            last_seen = seen[-1]
            # The others go on; a good number of messages pass while she is away.
            await watcher.wait_until(
                lambda: sum(i > last_seen for i in live_ids(watcher, show)) >= 20,
                what="20 messages while Alice is away",
            )
            current = await rig.connect(alice)
            history, since = await resume(current, show, last_seen)
            history_comes_first(current, show, since)
            assert history["has_more"] is False
            seen += ids(history["messages"])
            since = current.mark()
        await current.wait_until(
            lambda: len(live_ids(current, show, since)) >= 15,
            what="15 live messages after the last resume",
        )
    finally:
        stop.set()
        await asyncio.gather(*tasks)

    final = [row.id for row in stored(rig.db, show)]
    await current.wait_until(
        lambda: final[-1] in live_ids(current, show, since),
        what="the last message on Alice's connection",
    )
    await watcher.wait_until(
        lambda: final[-1] in live_ids(watcher, show), what="the last message at the watcher"
    )
    seen += live_ids(current, show, since)

    assert set(acked) <= set(final), "a message acknowledged ok is not in the database"
    assert len(seen) == len(set(seen)), f"Alice got {len(seen) - len(set(seen))} repeats"
    assert seen == final, (
        f"Alice's view differs from the database: missing "
        f"{sorted(set(final) - set(seen))[:10]}, order ok: {seen == sorted(seen)}"
    )
    assert live_ids(watcher, show) == final
    for sender in senders:
        assert live_ids(sender, show) == final


async def test_live_messages_reach_every_member_in_id_order(roomy_rig):
    rig = roomy_rig
    show = rig.db.add_show()
    members = [await rig.connect(rig.db.add_user()) for _ in range(5)]
    for member in members:
        await member.join(show.id)

    async def burst(client: ChatClient, n: int) -> None:
        for k in range(n):
            await client.emit("send_message", {"show_id": show.id, "message": f"{k}"})

    await asyncio.gather(*(burst(member, 30) for member in members))
    for member in members:
        await member.wait_until(
            lambda m=member: len(live_ids(m, show)) == 150, what="150 messages", timeout=2 * TIMEOUT
        )
    final = [row.id for row in stored(rig.db, show)]
    assert len(final) == 150
    for member in members:
        assert live_ids(member, show) == final


async def test_resume_after_more_than_500_missed_gets_the_newest_500_and_paging_fills_the_gap(
    roomy_rig,
):
    rig = roomy_rig
    fan, poster, show = rig.db.add_user(), rig.db.add_user(), rig.db.add_show()
    seen = rig.db.add_messages(show, poster, [f"seen {n}" for n in range(30)])
    missed = rig.db.add_messages(show, poster, [f"missed {n}" for n in range(620)])
    last_seen = seen[-1]

    client = await rig.connect(fan)
    history, since = await resume(client, show, last_seen)
    history_comes_first(client, show, since)
    assert ids(history["messages"]) == missed[-RESUME_LIMIT:]
    assert history["has_more"] is True

    # Page back from the oldest message received until the last one seen is reached.
    recovered: list[int] = []
    before = history["messages"][0]["id"]
    for _page in range(10):
        ack = await client.call(
            "get_message_history", {"show_id": show.id, "before_id": before, "limit": 100}
        )
        assert ack.get("ok") is True, ack
        page = ids(ack["messages"])
        assert page == sorted(page) and all(i < before for i in page)
        recovered = [i for i in page if i > last_seen] + recovered
        if not ack["has_more"] or page[0] <= last_seen:
            break
        before = page[0]
    assert recovered + ids(history["messages"]) == missed
