"""Idempotent send: a `send_message` carrying a `client_msg_id` (1-64 characters) is stored and
broadcast once per user and show, however often the client retries it."""

import asyncio

import pytest
from support.client import for_show
from support.expect import acked_message, assert_error, assert_failed_ack
from support.rigs import pair_on, stored


def send(show, text, client_msg_id):
    return {"show_id": show.id, "message": text, "client_msg_id": client_msg_id}


async def test_retry_with_the_same_client_msg_id_is_stored_once_and_acked_with_the_original(
    default_rig,
):
    show, alice, bob = await pair_on(default_rig)
    first = acked_message(await alice.client.call("send_message", send(show, "hi", "m-1")))
    assert first["client_msg_id"] == "m-1"
    retry = acked_message(await alice.client.call("send_message", send(show, "hi", "m-1")))
    assert retry == first
    # Even with other text: the id names the message, the retry changes nothing.
    again = acked_message(await alice.client.call("send_message", send(show, "edited", "m-1")))
    assert again == first

    await bob.client.active_users(show.id)  # barrier: anything broadcast is in by now
    await alice.client.active_users(show.id)
    assert bob.client.received("new_message", for_show(show.id)) == [first]
    assert alice.client.received("new_message", for_show(show.id)) == [first]
    assert [(row.id, row.message, row.client_msg_id) for row in stored(default_rig.db, show)] == [
        (first["id"], "hi", "m-1")
    ]


async def test_retry_on_a_new_connection_after_a_cut_gets_the_original(default_rig):
    """The classic case: the ack was lost with the connection; the client reconnects and
    sends the same message again."""
    show, alice, bob = await pair_on(default_rig)
    original = acked_message(await alice.client.call("send_message", send(show, "once", "c-9")))
    await alice.client.drop()
    again = await default_rig.connect(alice.user)
    await again.join(show.id)
    retry = acked_message(await again.call("send_message", send(show, "once", "c-9")))
    assert retry == original
    await bob.client.active_users(show.id)
    assert bob.client.received("new_message", for_show(show.id)) == [original]
    assert len(stored(default_rig.db, show)) == 1


async def test_concurrent_duplicates_are_stored_exactly_once(roomy_rig):
    """Eight tabs of one user fire the same ten messages at once, each four times: ten rows,
    each broadcast once, and every ack of a message names the same row."""
    rig = roomy_rig
    fan, watcher_user, show = rig.db.add_user(), rig.db.add_user(), rig.db.add_show()
    watcher = await rig.connect(watcher_user)
    await watcher.join(show.id)
    tabs = await asyncio.gather(*(rig.connect(fan) for _ in range(8)))
    await asyncio.gather(*(tab.join(show.id) for tab in tabs))

    ids = [f"dup-{n}" for n in range(10)]
    calls = [
        tab.call("send_message", send(show, f"text of {cid}", cid))
        for _ in range(4)
        for tab in tabs
        for cid in ids
    ]
    acks = await asyncio.gather(*calls)

    by_id: dict[str, set[int]] = {}
    for ack in acks:
        message = acked_message(ack)
        by_id.setdefault(message["client_msg_id"], set()).add(message["id"])
    assert {cid: len(rows) for cid, rows in by_id.items()} == dict.fromkeys(ids, 1)

    rows = stored(rig.db, show)
    assert sorted(row.client_msg_id for row in rows) == sorted(ids)
    assert {row.client_msg_id: row.id for row in rows} == {
        cid: next(iter(row_ids)) for cid, row_ids in by_id.items()
    }
    await watcher.active_users(show.id)  # barrier
    delivered = watcher.received("new_message", for_show(show.id))
    assert sorted(m["client_msg_id"] for m in delivered) == sorted(ids)


async def test_same_client_msg_id_from_another_user_is_another_message(default_rig):
    show, alice, bob = await pair_on(default_rig)
    mine = acked_message(await alice.client.call("send_message", send(show, "a", "shared")))
    theirs = acked_message(await bob.client.call("send_message", send(show, "b", "shared")))
    assert mine["id"] != theirs["id"]
    assert [(r.user_id, r.message) for r in stored(default_rig.db, show)] == [
        (alice.user.id, "a"),
        (bob.user.id, "b"),
    ]


async def test_same_client_msg_id_in_another_show_is_another_message(default_rig):
    rig = default_rig
    fan, one, two = rig.db.add_user(), rig.db.add_show(), rig.db.add_show()
    client = await rig.connect(fan)
    await client.join(one.id)
    await client.join(two.id)
    first = acked_message(await client.call("send_message", send(one, "here", "same-id")))
    second = acked_message(await client.call("send_message", send(two, "there", "same-id")))
    assert first["id"] != second["id"]
    assert [r.message for r in stored(rig.db, one)] == ["here"]
    assert [r.message for r in stored(rig.db, two)] == ["there"]


@pytest.mark.parametrize(
    "client_msg_id",
    ["", "x" * 65, 123, ["m-1"], {"id": "m-1"}, True],
    ids=["empty", "65-chars", "integer", "list", "object", "boolean"],
)
async def test_bad_client_msg_id_is_refused_and_stores_nothing(client_msg_id, default_rig):
    show, alice, bob = await pair_on(default_rig)
    since = alice.client.mark()
    ack = await alice.client.call("send_message", send(show, "never stored", client_msg_id))
    assert_failed_ack(ack, "Invalid payload")
    assert_error(
        await alice.client.wait_for("error", since=since),
        event="send_message",
        message="Invalid payload",
    )
    await bob.client.active_users(show.id)  # barrier
    assert bob.client.received("new_message") == []
    assert stored(default_rig.db, show) == []
    # The connection is still usable.
    acked_message(await alice.client.call("send_message", send(show, "fine", "ok-1")))


@pytest.mark.parametrize("length", [1, 64])
async def test_client_msg_id_of_1_to_64_characters_is_accepted(length, default_rig):
    show, alice, _ = await pair_on(default_rig)
    cid = "k" * length
    saved = acked_message(await alice.client.call("send_message", send(show, "edge", cid)))
    assert saved["client_msg_id"] == cid
    assert [r.client_msg_id for r in stored(default_rig.db, show)] == [cid]


async def test_new_message_history_and_rest_carry_client_msg_id(default_rig, http_for):
    rig = default_rig
    show, alice, bob = await pair_on(rig)
    saved = acked_message(await alice.client.call("send_message", send(show, "tagged", "t-1")))
    plain = acked_message(
        await alice.client.call("send_message", {"show_id": show.id, "message": "untagged"})
    )
    live = await bob.client.wait_for("new_message", lambda m: m["id"] == plain["id"])
    assert bob.client.received("new_message", for_show(show.id)) == [saved, live]
    assert saved["client_msg_id"] == "t-1" and live.get("client_msg_id") is None

    late = await rig.connect(rig.db.add_user())
    history, _ = await late.join(show.id)
    assert history["messages"] == [saved, live]

    async with http_for(rig) as http:
        response = await http.get(
            f"/api/shows/{show.id}/messages",
            headers={"Authorization": f"Bearer {rig.tokens.access(alice.user.id)}"},
        )
    assert response.status_code == 200, response.text
    assert response.json()["messages"] == [saved, live]


async def test_a_retried_burst_is_answered_with_the_originals_not_refused(default_rig):
    """Venue Wi-Fi: the acks of a full burst (SEND_BURST, 10) were lost; the client sends the
    same ten again at once. Each retry gets its original, none `Rate limit exceeded`."""
    show, alice, bob = await pair_on(default_rig)
    ids = [f"burst-{n}" for n in range(10)]
    originals = [
        acked_message(await alice.client.call("send_message", send(show, cid, cid))) for cid in ids
    ]
    retries = [await alice.client.call("send_message", send(show, cid, cid)) for cid in ids]
    assert [acked_message(ack) for ack in retries] == originals
    await bob.client.active_users(show.id)  # barrier
    assert bob.client.received("new_message", for_show(show.id)) == originals
    assert len(stored(default_rig.db, show)) == 10


async def test_retries_spend_no_token_of_the_send_limit(launch):
    """Bursts of 4, one token more every 20 s: two messages, each retried twice, leave two
    tokens for two new messages; the next one is refused."""
    rig = await launch(SEND_RATE=0.05, SEND_BURST=4)
    show, alice, _ = await pair_on(rig)
    first = [
        acked_message(await alice.client.call("send_message", send(show, cid, cid)))
        for cid in ("a", "b")
    ]
    for _ in range(2):
        again = [
            acked_message(await alice.client.call("send_message", send(show, cid, cid)))
            for cid in ("a", "b")
        ]
        assert again == first
    for cid in ("c", "d"):
        acked_message(await alice.client.call("send_message", send(show, cid, cid)))
    refused = await alice.client.call("send_message", send(show, "e", "e"))
    assert_failed_ack(refused, "Rate limit exceeded")
    assert [row.client_msg_id for row in stored(rig.db, show)] == ["a", "b", "c", "d"]
