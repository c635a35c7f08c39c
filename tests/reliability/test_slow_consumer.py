"""Slow consumers: a member whose connection stops reading (a phone on a dead network, a
frozen tab) must cost the server bounded memory, must not delay anyone else, and is closed
once its send queue (SEND_QUEUE_LIMIT packets) is full: its user leaves the show."""

import asyncio

from support.client import about, for_show
from support.raw_socketio import RawSocketIO
from support.rigs import ROOMY, stored
from support.settings import TIMEOUT

MESSAGES = 1000
TEXT_LENGTH = 8_000  # each new_message is ~8 KB: 1,000 of them queued would be ~8 MB
QUEUE_LIMIT = 50
# Bounded: what the stalled connection can hold is QUEUE_LIMIT packets plus socket buffers,
# under 1 MB here. Queued without a bound, every message would stay referenced until the
# connection died: about 10 MB measured (SEND_QUEUE_LIMIT=100000). Allow for the allocator's slack.
MAX_GROWTH_KIB = 4 * 1024


async def test_stalled_reader_is_closed_with_bounded_memory_and_nobody_waits(launch):
    rig = await launch(SEND_QUEUE_LIMIT=QUEUE_LIMIT, MESSAGE_MAX_LENGTH=TEXT_LENGTH + 100, **ROOMY)
    show = rig.db.add_show()
    stalled_user, watcher_user = rig.db.add_user(), rig.db.add_user()
    sender_users = [rig.db.add_user(), rig.db.add_user()]
    watcher = await rig.connect(watcher_user)
    await watcher.join(show.id)
    senders = [await rig.connect(user) for user in sender_users]
    for sender in senders:
        await sender.join(show.id)
    # Warm the server's code paths up before measuring its memory.
    for n in range(20):
        await senders[0].call("send_message", {"show_id": show.id, "message": f"warm {n}" * 500})

    stalled = RawSocketIO(rig.base_url, receive_buffer=4096)
    try:
        await stalled.open(rig.tokens.access(stalled_user.id))
        await stalled.emit("join_show", {"show_id": show.id})
        await stalled.wait_for("active_users", for_show(show.id))
        await watcher.wait_for("user_joined", about(stalled_user))
        rss_before = rig.rss_kib()
        stalled.stop_reading()  # ...and never again

        since = watcher.mark()
        text = "x" * TEXT_LENGTH

        async def send_many(sender, tag: str, count: int) -> list[int]:
            acked = []
            for n in range(count):
                ack = await sender.call(
                    "send_message", {"show_id": show.id, "message": f"{tag}{n} {text}"}
                )
                assert ack.get("ok") is True, ack
                acked.append(ack["message"]["id"])
            return acked

        loop = asyncio.get_running_loop()
        started = loop.time()
        acked = await asyncio.gather(
            *(send_many(s, t, MESSAGES // 2) for s, t in zip(senders, "ab"))
        )
        sent_in = loop.time() - started

        def received() -> list[int]:
            return [m["id"] for m in watcher.received("new_message", for_show(show.id), since)]

        await watcher.wait_until(
            lambda: len(received()) >= MESSAGES,
            what=f"{MESSAGES} messages at the watcher",
            timeout=TIMEOUT,
        )
        await watcher.wait_for("user_left", about(stalled_user), timeout=TIMEOUT)
        rss_after = rig.rss_kib()
    finally:
        await stalled.close()

    delivered = received()
    in_order = [row.id for row in stored(rig.db, show)][-MESSAGES:]
    assert sorted(acked[0] + acked[1]) == in_order
    assert delivered == in_order, "the watcher missed messages or got them out of order"
    for sender in senders:
        assert [m["id"] for m in sender.received("new_message", for_show(show.id))][
            -MESSAGES:
        ] == in_order
    growth = rss_after - rss_before
    assert growth < MAX_GROWTH_KIB, (
        f"server RSS grew by {growth} KiB while {MESSAGES} messages of {TEXT_LENGTH} "
        f"characters passed a stalled connection (sent in {sent_in:.1f}s)"
    )
    # The server said why it closed the connection.
    assert "it stopped reading" in rig.server.log()


async def test_stalled_connection_is_let_go_by_the_server(launch):
    """Closing a stalled connection must free it: once its user has left, the server must not
    keep the TCP connection (its file descriptor, task and buffers) open for as long as the
    peer keeps it alive, or stalled clients pile up. Whichever closes it (the full send
    queue, or the pings it never answers: one a second here), the socket must go soon after."""
    rig = await launch(
        SEND_QUEUE_LIMIT=10,
        PING_INTERVAL=1,
        PING_TIMEOUT=1,
        MESSAGE_MAX_LENGTH=TEXT_LENGTH + 100,
        **ROOMY,
    )
    show = rig.db.add_show()
    stalled_user, sender_user = rig.db.add_user(), rig.db.add_user()
    sender = await rig.connect(sender_user)
    await sender.join(show.id)
    stalled = RawSocketIO(rig.base_url, receive_buffer=4096)
    try:
        await stalled.open(rig.tokens.access(stalled_user.id))
        await stalled.emit("join_show", {"show_id": show.id})
        await stalled.wait_for("active_users", for_show(show.id))
        client_port = stalled.local_port
        stalled.stop_reading()
        text = "x" * TEXT_LENGTH
        for n in range(MESSAGES):
            await sender.call("send_message", {"show_id": show.id, "message": f"{n} {text}"})
            if sender.received("user_left", about(stalled_user)):
                break
        await sender.wait_for("user_left", about(stalled_user))
        assert rig.holds_connection_from(client_port), "the connection should exist until now"

        loop = asyncio.get_running_loop()
        deadline = loop.time() + TIMEOUT
        while rig.holds_connection_from(client_port) and loop.time() < deadline:
            await asyncio.sleep(0.05)
        assert not rig.holds_connection_from(client_port), (
            f"{TIMEOUT}s after closing the stalled connection (user_left sent) the server still "
            f"holds its TCP connection: {rig.server.port} <- {client_port}"
        )
    finally:
        await stalled.close()
