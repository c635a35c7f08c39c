"""Throttling and limits: the send bucket, dropped typing, the event flood limit, the frame
limit and the per-user connection cap, at their defaults (`default_rig`) and lowered through
the environment (`lowered_rig`)."""

import asyncio

import pytest
import socketio
from support.client import ChatClient, about
from support.expect import acked_message, assert_failed_ack
from support.rigs import Rig, make_rig, one_test_on, pair_on, stored
from support.scenes import assert_still_usable
from support.settings import TIMEOUT

LOWERED = {
    "SEND_RATE": 2,
    "SEND_BURST": 3,
    "TYPING_RATE": 1,
    "EVENTS_PER_SECOND": 20,
    "MAX_CONNECTIONS_PER_USER": 2,
    "MAX_FRAME_BYTES": 4096,
}


@pytest.fixture(scope="module")
async def _lowered_rig(reliability_postgres, reliability_db, tmp_path_factory):
    rig = make_rig(
        reliability_postgres,
        tmp_path_factory.mktemp("lowered") / "server.log",
        db=reliability_db,
        **LOWERED,
    )
    await rig.start()
    yield rig
    await rig.stop()


@pytest.fixture
async def lowered_rig(_lowered_rig):
    async for rig in one_test_on(_lowered_rig):
        yield rig


def message(show, text: str) -> dict:
    return {"show_id": show.id, "message": text}


# ---------------------------------------------------------------------------- send rate


async def rapid_sends(client: ChatClient, show, count: int) -> list:
    """`count` send_message calls fired at once (the server takes them in order)."""
    return await asyncio.gather(
        *(client.call("send_message", message(show, f"rapid {n}")) for n in range(count))
    )


async def test_eleventh_rapid_send_is_rate_limited_then_accepted_after_retry_after(default_rig):
    """Defaults: 5 a second, bursts of 10."""
    show, alice, bob = await pair_on(default_rig)
    since = alice.client.mark()
    acks = await rapid_sends(alice.client, show, 11)
    assert all(ack.get("ok") is True for ack in acks[:10]), acks[:10]
    refused = acks[10]
    assert_failed_ack(refused, "Rate limit exceeded")
    retry_after_ms = refused["error"]["retry_after_ms"]
    assert isinstance(retry_after_ms, int) and 0 < retry_after_ms <= 1000 / 5, refused
    error = await alice.client.wait_for("error", since=since)
    assert error["message"] == "Rate limit exceeded" and error["event"] == "send_message"
    assert 0 < error["retry_after_ms"] <= 200, error
    assert [row.message for row in stored(default_rig.db, show)] == [
        f"rapid {n}" for n in range(10)
    ]

    # Others are not throttled by Alice's bucket.
    acked_message(await bob.client.call("send_message", message(show, "bob is fine")))
    # Waiting what the server said is enough.
    await asyncio.sleep(retry_after_ms / 1000)
    acked_message(await alice.client.call("send_message", message(show, "after the wait")))
    await bob.client.wait_for("new_message", lambda m: m["message"] == "after the wait")
    assert "rapid 10" not in [m["message"] for m in bob.client.received("new_message")]


async def test_send_rate_and_burst_come_from_the_environment(lowered_rig):
    show, alice, _ = await pair_on(lowered_rig)
    acks = await rapid_sends(alice.client, show, 4)
    assert [ack.get("ok") for ack in acks] == [True, True, True, False], acks
    assert_failed_ack(acks[3], "Rate limit exceeded")
    assert 0 < acks[3]["error"]["retry_after_ms"] <= 500  # 2 a second
    assert len(stored(lowered_rig.db, show)) == 3


# ---------------------------------------------------------------------------- typing


async def typing_burst(rig: Rig, count: int) -> tuple[list, list]:
    """Alice sends `count` typing indicators at once; her acks and what Bob received."""
    show, alice, bob = await pair_on(rig)
    since = alice.client.mark()
    acks = await asyncio.gather(
        *(
            alice.client.call("typing", {"show_id": show.id, "is_typing": True})
            for _ in range(count)
        )
    )
    await bob.client.active_users(show.id)  # barrier: every broadcast typing is in
    assert alice.client.received("error", since=since) == [], "typing is dropped silently"
    assert alice.client.received("user_typing") == [], "typing never goes back to the sender"
    return acks, bob.client.received("user_typing", about(alice.user))


async def test_typing_beyond_two_a_second_is_dropped_silently(default_rig):
    acks, delivered = await typing_burst(default_rig, 8)
    assert all(ack.get("ok") is True for ack in acks), acks
    dropped = [ack["dropped"] for ack in acks]
    # Two a second, in bursts of two; a slow run may earn one more token meanwhile.
    assert dropped[:3] == [False, False, True] and dropped.count(False) <= 3, dropped
    assert len(delivered) == dropped.count(False)


async def test_typing_rate_comes_from_the_environment(lowered_rig):
    acks, delivered = await typing_burst(lowered_rig, 4)
    assert [ack["dropped"] for ack in acks][:2] == [False, True], acks
    assert len(delivered) == sum(not ack["dropped"] for ack in acks)


# ---------------------------------------------------------------------------- flood


async def flood(rig: Rig, events: int, *, limit: int) -> None:
    """A member fires `events` events as fast as it can: it is disconnected, the log says
    why, it leaves the show, and the others carry on."""
    show, alice, bob = await pair_on(rig)
    sid = alice.client.sid
    for _ in range(events):
        try:
            await alice.client.emit("get_active_users", {"show_id": show.id})
        except socketio.exceptions.BadNamespaceError:
            break  # already disconnected
    await alice.client.wait_for("disconnect")
    line = await rig.wait_for_log(f"disconnecting sid={sid}")
    assert f"more than {limit} events a second" in line, line
    await bob.client.wait_for("user_left", about(alice.user))
    await bob.client.say(show.id, "still here")
    # The flooder may come back.
    again = await rig.connect(alice.user)
    await again.join(show.id)


async def test_more_than_100_events_a_second_disconnects_the_connection(default_rig):
    await flood(default_rig, 400, limit=100)


async def test_events_per_second_comes_from_the_environment(lowered_rig):
    await flood(lowered_rig, 100, limit=20)


async def test_a_burst_within_the_event_limit_is_served(default_rig):
    show, alice, _ = await pair_on(default_rig)
    since = alice.client.mark()
    for _ in range(80):
        await alice.client.emit("get_active_users", {"show_id": show.id})
    await alice.client.wait_until(
        lambda: len(alice.client.received("active_users", since=since)) == 80, what="80 answers"
    )
    assert alice.client.connected


# ---------------------------------------------------------------------------- frames


async def oversized_frame(rig: Rig, text_length: int, transport: str) -> None:
    """A frame past the limit closes that one connection, stores nothing, and the others
    are served as before."""
    alice, bob, show = rig.db.add_user(), rig.db.add_user(), rig.db.add_show()
    sender = await rig.connect(alice, transport=transport)
    await sender.join(show.id)
    other = await rig.connect(bob)
    await other.join(show.id)
    await sender.wait_for("user_joined", about(bob))

    await sender.emit("send_message", message(show, "x" * text_length))
    await sender.wait_for("disconnect")
    await other.wait_for("user_left", about(alice))
    assert stored(rig.db, show) == []
    echo = await other.say(show.id, "unaffected")
    assert [row.id for row in stored(rig.db, show)] == [echo["id"]]


@pytest.mark.parametrize("transport", ["websocket", "polling"])
@pytest.mark.parametrize(
    "text_length",
    [64 * 1024 + 100, 80 * 1024, 1024 * 1024],
    ids=["just-over-64KiB", "80KiB", "1MiB"],
)
async def test_frame_over_64_kib_closes_only_that_connection(text_length, transport, default_rig):
    await oversized_frame(default_rig, text_length, transport)


async def test_frame_limit_comes_from_the_environment(lowered_rig):
    await oversized_frame(lowered_rig, 5000, "websocket")


async def test_large_message_under_the_frame_limit_is_an_error_not_a_disconnect(default_rig):
    show, alice, bob = await pair_on(default_rig)
    since = alice.client.mark()
    # The whole frame (the text and its envelope) stays just under 64 KiB.
    ack = await alice.client.call("send_message", message(show, "x" * (64 * 1024 - 200)))
    assert_failed_ack(ack, "Message too long")
    await alice.client.wait_for("error", since=since)
    await assert_still_usable(alice, show)
    assert stored(default_rig.db, show) == []


# ---------------------------------------------------------------------------- connections


async def connect_when_allowed(rig: Rig, user, timeout: float = TIMEOUT) -> ChatClient:
    """Connect, retrying while the server still counts a connection that just closed
    (its side of the close is handled a moment later); bounded."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        client = rig.client()
        try:
            await client.connect(auth=rig.tokens.access(user.id))
            return client
        except socketio.exceptions.ConnectionError:
            refusal = client.received("connect_error")
            assert refusal and refusal[0].get("message") == "Too many connections", refusal
            assert loop.time() < deadline, "the cap was not released after a connection closed"
            await asyncio.sleep(0.02)


async def cap(rig: Rig, limit: int) -> None:
    fan = rig.db.add_user()
    tabs = await asyncio.gather(*(rig.connect(fan) for _ in range(limit)))
    assert all(tab.connected for tab in tabs)
    refusal = await rig.client().refused(auth=rig.tokens.access(fan.id))
    assert refusal.get("message") == "Too many connections", refusal
    # Someone else is not affected by this user's cap.
    await rig.connect(rig.db.add_user())
    # A clean close frees a place...
    await tabs[0].close()
    replacement = await connect_when_allowed(rig, fan)
    assert (await rig.client().refused(auth=rig.tokens.access(fan.id))).get(
        "message"
    ) == "Too many connections"
    # ...and so does a connection that died without a goodbye.
    await tabs[1].drop()
    await connect_when_allowed(rig, fan)
    assert replacement.connected


async def test_eleventh_connection_of_a_user_is_refused_until_one_closes(default_rig):
    await cap(default_rig, 10)


async def test_connection_cap_comes_from_the_environment(lowered_rig):
    await cap(lowered_rig, 2)
