"""Limits hold across processes: a user's send rate and connection count are counted in one
place, whichever processes their connections are on. The cluster runs with SEND_RATE=0.2,
SEND_BURST=3, SEND_RATE_USER=0.2, SEND_BURST_USER=5 and MAX_CONNECTIONS_PER_USER=2
(support.scaleout.LIMITED)."""

import asyncio

import socketio
from support.expect import acked_message, assert_error, assert_failed_ack
from support.rigs import stored
from support.scaleout import LIMITED

BURST = LIMITED["SEND_BURST"]
USER_BURST = LIMITED["SEND_BURST_USER"]
CAP = LIMITED["MAX_CONNECTIONS_PER_USER"]


async def test_send_rate_limit_counts_sends_through_every_process(limited_duo, scaleout_db):
    db, show, fan = scaleout_db, scaleout_db.add_show(), scaleout_db.add_user()
    tabs = [await limited_duo.connect(fan, 0), await limited_duo.connect(fan, 1)]
    for tab in tabs:
        await tab.join(show.id)

    acks = []
    for n in range(BURST + 2):  # alternately through the two processes
        tab = tabs[n % 2]
        acks.append(
            (
                tab,
                tab.mark(),
                await tab.call("send_message", {"show_id": show.id, "message": f"message {n}"}),
            )
        )
    for _, _, ack in acks[:BURST]:
        acked_message(ack)
    for tab, since, ack in acks[BURST:]:
        assert_failed_ack(ack, "Rate limit exceeded")
        assert ack["error"].get("retry_after_ms", 1) > 0, ack
        error = await tab.wait_for("error", since=since)
        assert_error(error, event="send_message", message="Rate limit exceeded")
    assert [row.message for row in stored(db, show)] == [f"message {n}" for n in range(BURST)]


async def test_user_wide_send_limit_counts_sends_to_every_show_through_every_process(
    limited_duo, scaleout_db
):
    """Two messages to each of three shows (under each show's burst), alternately through
    the two processes: the account's burst across shows is spent after five."""
    db, fan = scaleout_db, scaleout_db.add_user()
    shows = [db.add_show() for _ in range(3)]
    tabs = [await limited_duo.connect(fan, 0), await limited_duo.connect(fan, 1)]
    for tab in tabs:
        for show in shows:
            await tab.join(show.id)
    acks = []
    for n in range(2 * len(shows)):
        show = shows[n // 2]
        acks.append(
            await tabs[n % 2].call("send_message", {"show_id": show.id, "message": f"message {n}"})
        )
    for ack in acks[:USER_BURST]:
        acked_message(ack)
    for ack in acks[USER_BURST:]:
        assert_failed_ack(ack, "Rate limit exceeded")
        assert ack["error"]["retry_after_ms"] > 0, ack
    assert sum(len(stored(db, show)) for show in shows) == USER_BURST


async def test_retries_through_either_process_spend_no_token_and_are_never_refused(
    limited_duo, scaleout_db
):
    db, show, fan = scaleout_db, scaleout_db.add_show(), scaleout_db.add_user()
    tabs = [await limited_duo.connect(fan, 0), await limited_duo.connect(fan, 1)]
    for tab in tabs:
        await tab.join(show.id)

    def send(cid: str) -> dict:
        return {"show_id": show.id, "message": f"text {cid}", "client_msg_id": cid}

    first = acked_message(await tabs[0].call("send_message", send("a")))
    for tab in tabs:  # the token each retry took is given back, in Redis
        assert acked_message(await tab.call("send_message", send("a"))) == first
    more = [
        acked_message(await tabs[n % 2].call("send_message", send(cid)))
        for n, cid in enumerate(("b", "c"))
    ]
    # The burst is spent now: the retries are answered from the stored rows.
    for tab in tabs:
        again = [acked_message(await tab.call("send_message", send(cid))) for cid in "abc"]
        assert again == [first, *more]
    assert_failed_ack(await tabs[1].call("send_message", send("d")), "Rate limit exceeded")
    assert [row.client_msg_id for row in stored(db, show)] == ["a", "b", "c"]


async def test_connection_cap_counts_connections_on_every_process(limited_duo, scaleout_db):
    db, fan = scaleout_db, scaleout_db.add_user()
    held = [await limited_duo.connect(fan, process % 2) for process in range(CAP)]
    for process in range(len(limited_duo)):
        refusal = await limited_duo.client(process).refused(auth=limited_duo.tokens.access(fan.id))
        assert isinstance(refusal, dict) and refusal.get("message") == "Too many connections", (
            f"process {process}: {refusal!r}"
        )
    # Another user is not affected.
    await limited_duo.connect(db.add_user(), 0)

    # A closed connection frees its slot for a connection on the other process, once the
    # server has handled the close (polled: no event tells the other process).
    await held[0].close()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5.0
    while True:
        client = limited_duo.client(1)
        try:
            await client.connect(auth=limited_duo.tokens.access(fan.id))
            break
        except Exception:
            assert loop.time() < deadline, "the closed connection's slot was never freed"
            await asyncio.sleep(0.05)
    assert client.connected
    refusal = await limited_duo.client(0).refused(auth=limited_duo.tokens.access(fan.id))
    assert refusal.get("message") == "Too many connections", refusal


RELEASE_DEADLINE = 15.0  # issue #17: as a dead process's presence is swept within 15 s


async def test_killed_process_connections_stop_counting_within_15_s(launch_cluster, scaleout_db):
    """A fan with 6 tabs on a process killed with -9 and 4 on a survivor (cap 10): the 6
    reconnect to the survivor, as socket.io-client does by itself, and are accepted within
    15 s, not when the dead process's leases expire two minutes later."""
    cluster = await launch_cluster(2, MAX_CONNECTIONS_PER_USER=10)
    survivor, victim = 0, 1
    fan = scaleout_db.add_user()
    for _ in range(6):
        await cluster.connect(fan, victim)
    for _ in range(4):
        await cluster.connect(fan, survivor)
    refusal = await cluster.client(survivor).refused(auth=cluster.tokens.access(fan.id))
    assert refusal.get("message") == "Too many connections", refusal

    loop = asyncio.get_running_loop()
    killed_at = loop.time()
    cluster.kill(victim)
    reconnected = 0
    while reconnected < 6:  # polled: nothing tells a client when a slot frees
        try:
            await cluster.connect(fan, survivor)
            reconnected += 1
        except socketio.exceptions.ConnectionError:  # refused: Too many connections
            took = loop.time() - killed_at
            assert took < RELEASE_DEADLINE, (
                f"{reconnected} of 6 tabs reconnected {took:.1f}s after the kill"
            )
            await asyncio.sleep(0.2)
    took = loop.time() - killed_at
    assert took <= RELEASE_DEADLINE, f"the 6 tabs were all back {took:.1f}s after the kill"
    # The cap still holds: 10 live connections, all on the survivor.
    refusal = await cluster.client(survivor).refused(auth=cluster.tokens.access(fan.id))
    assert refusal.get("message") == "Too many connections", refusal
