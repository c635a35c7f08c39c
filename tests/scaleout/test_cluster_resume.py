"""Idempotent send and gapless resume across processes: a retry landing on another process
stores nothing new and is answered with the original; a client cut off from one process
resumes on another with exactly the messages it missed."""

import asyncio
import secrets

from support.client import for_show
from support.expect import acked_message
from support.rigs import stored
from support.scaleout import assert_once_in_order, message_ids, timeline


async def _marker(client, show_id: int, *watchers) -> None:
    ack = await client.call("send_message", {"show_id": show_id, "message": "marker"})
    sent = acked_message(ack)["id"]
    for watcher in watchers:
        await watcher.wait_for("new_message", lambda data: data.get("id") == sent)


async def test_retry_on_another_process_is_acked_with_the_original_and_stored_once(
    trio, scaleout_db
):
    db, show = scaleout_db, scaleout_db.add_show()
    fan, watcher_user = db.add_user(), db.add_user()
    watcher = await trio.connect(watcher_user, 2)
    await watcher.join(show.id)
    tabs = [await trio.connect(fan, 0), await trio.connect(fan, 1)]
    for tab in tabs:
        await tab.join(show.id)
    since = watcher.mark()
    send = {
        "show_id": show.id,
        "message": "see you at the bar",
        "client_msg_id": secrets.token_hex(8),
    }
    log = trio.nodes[1].log_path
    logged_before = log.stat().st_size

    original = acked_message(await tabs[0].call("send_message", send))
    retry = acked_message(await tabs[1].call("send_message", send))
    assert retry == original, "the retry was not answered with the original message"

    await _marker(tabs[1], show.id, watcher)
    await _marker(tabs[0], show.id, watcher)
    # The retry's batch stored nothing new: nothing to publish, and nothing went wrong.
    logged = log.read_bytes()[logged_before:].decode(errors="replace")
    assert " ERROR " not in logged and "Traceback" not in logged, logged
    rows = [row for row in stored(db, show) if row.client_msg_id == send["client_msg_id"]]
    assert [row.id for row in rows] == [original["id"]]
    assert message_ids(watcher, show.id, since).count(original["id"]) == 1
    for tab in tabs:
        assert message_ids(tab, show.id).count(original["id"]) == 1


async def test_the_same_send_on_two_processes_at_once_is_stored_once(trio, scaleout_db):
    db, show = scaleout_db, scaleout_db.add_show()
    fan, watcher_user = db.add_user(), db.add_user()
    watcher = await trio.connect(watcher_user, 2)
    await watcher.join(show.id)
    tabs = [await trio.connect(fan, 0), await trio.connect(fan, 1)]
    for tab in tabs:
        await tab.join(show.id)
    since = watcher.mark()
    sends = [
        {"show_id": show.id, "message": f"encore {n}", "client_msg_id": secrets.token_hex(8)}
        for n in range(10)
    ]

    # Each message sent on both processes at the same moment, as a client retrying on a
    # reconnect while its first attempt is still in flight.
    acks = await asyncio.gather(*(tab.call("send_message", send) for send in sends for tab in tabs))
    for n, send in enumerate(sends):
        first, second = acked_message(acks[2 * n]), acked_message(acks[2 * n + 1])
        assert first == second, f"{send['client_msg_id']}: {first} vs {second}"

    await _marker(tabs[0], show.id, watcher)
    await _marker(tabs[1], show.id, watcher)
    rows = [row for row in stored(db, show) if row.client_msg_id is not None]
    assert sorted(row.client_msg_id for row in rows) == sorted(s["client_msg_id"] for s in sends)
    ids = sorted(row.id for row in rows)
    received = [i for i in message_ids(watcher, show.id, since) if i in ids]
    assert_once_in_order(received, ids, "the watcher")


async def test_client_cut_off_from_one_process_resumes_on_another_without_gap_or_repeat(
    trio, scaleout_db
):
    db, show = scaleout_db, scaleout_db.add_show()
    reader_user = db.add_user()
    senders = await trio.one_member_on_each(db, show)
    reader = await trio.connect(reader_user, 0)
    await reader.join(show.id)
    acked: list[int] = []
    progress = asyncio.Event()
    stop = asyncio.Event()

    async def keep_sending(client, tag: int) -> None:
        n = 0
        while not stop.is_set():
            ack = await client.call("send_message", {"show_id": show.id, "message": f"{tag}.{n}"})
            acked.append(acked_message(ack)["id"])
            progress.set()
            n += 1

    async def until_acked(count: int) -> None:
        async with asyncio.timeout(10):
            while len(acked) < count:
                progress.clear()
                await progress.wait()

    sending = [asyncio.create_task(keep_sending(client, tag)) for tag, client in enumerate(senders)]
    try:
        await until_acked(20)
        await reader.wait_until(
            lambda: len(message_ids(reader, show.id)) >= 10, what="10 messages before the cut"
        )
        await reader.drop()  # the transport is cut: no leave_show, no disconnect packet
        seen = message_ids(reader, show.id)
        last_seen = seen[-1]
        await until_acked(len(acked) + 20)  # the others keep talking meanwhile

        resumed = trio.client(1)
        await resumed.connect(auth=trio.tokens.access(reader_user.id))
        since = resumed.mark()
        ack = await resumed.call("join_show", {"show_id": show.id, "last_message_id": last_seen})
        assert ack.get("ok") is True, ack
        await resumed.wait_for("message_history", for_show(show.id), since=since)
        await until_acked(len(acked) + 20)  # and after the resume
    finally:
        stop.set()
        await asyncio.gather(*sending)

    everything = sorted(acked)
    assert_once_in_order(seen, [i for i in everything if i <= last_seen], "before the cut")
    wanted = [i for i in everything if i > last_seen]
    await resumed.wait_until(
        lambda: set(timeline(resumed, show.id, since)) >= set(wanted),
        timeout=10,
        what="every message after the cut",
    )
    assert_once_in_order(timeline(resumed, show.id, since), wanted, "the resumed client")
    assert [row.id for row in stored(db, show)] == everything
