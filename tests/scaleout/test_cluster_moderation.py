"""Moderation across processes sharing Redis: a ban on one process removes the user's
connections on another within a second; time-outs, slow mode and deletions apply on
every process."""

import asyncio

from support.client import about, for_show
from support.moderation import act, add_moderator, ok, refused


async def scene(trio, db):
    """A show; bob moderates it from process 0, alice is in it from processes 1 and 2."""
    show, alice, bob = db.add_show(), db.add_user(), db.add_user()
    add_moderator(db, show, bob)
    moderator = await trio.connect(bob, 0)
    await moderator.join(show.id)
    tabs = [await trio.connect(alice, 1), await trio.connect(alice, 2)]
    for tab in tabs:
        await tab.join(show.id)
    await moderator.wait_for("user_joined", about(alice))
    return show, alice, moderator, tabs


def send(show, text="hi"):
    return {"show_id": show.id, "message": text}


async def test_ban_on_one_process_removes_the_tabs_on_the_others_within_a_second(trio, scaleout_db):
    show, alice, moderator, tabs = await scene(trio, scaleout_db)
    loop = asyncio.get_running_loop()
    started = loop.time()
    ok(await act(moderator, "ban_user", {"show_id": show.id, "user_id": alice.id}))
    for tab in tabs:
        assert await tab.wait_for("banned", timeout=1.0) == {"show_id": show.id}
    assert loop.time() - started < 1.0
    await moderator.wait_for("user_left", about(alice), timeout=2.0)
    for tab in tabs:
        refused(await act(tab, "send_message", send(show)), "Banned from show")
        refused(await act(tab, "join_show", {"show_id": show.id}), "Banned from show")


async def test_timeout_and_slow_mode_apply_on_every_process(trio, scaleout_db):
    show, alice, moderator, tabs = await scene(trio, scaleout_db)
    payload = {"show_id": show.id, "user_id": alice.id, "seconds": 60}
    ok(await act(moderator, "timeout_user", payload))
    for tab in tabs:
        await tab.wait_for("user_timed_out", for_show(show.id))
        refused(await act(tab, "send_message", send(show)), "Timed out")
    ok(await act(moderator, "timeout_user", {**payload, "seconds": 0}))
    ok(await act(moderator, "set_slow_mode", {"show_id": show.id, "seconds": 60}))
    for tab in tabs:
        await tab.wait_for("slow_mode", for_show(show.id))
    ok(await act(tabs[0], "send_message", send(show)))
    # The other tab, on another process, is slowed with the first.
    refused(await act(tabs[1], "send_message", send(show)), "Slow mode")
    ok(await act(moderator, "send_message", send(show)))


async def test_deletion_reaches_every_process(trio, scaleout_db):
    show, alice, moderator, tabs = await scene(trio, scaleout_db)
    ack = ok(await act(tabs[0], "send_message", send(show, "to delete")))
    message_id = ack["message"]["id"]
    ok(await act(moderator, "delete_message", {"show_id": show.id, "message_id": message_id}))
    for client in (moderator, *tabs):
        gone = await client.wait_for("message_deleted", for_show(show.id))
        assert gone == {"show_id": show.id, "message_id": message_id}
    late = await trio.connect(scaleout_db.add_user(), 1)
    history, _ = await late.join(show.id)
    assert message_id not in [m["id"] for m in history["messages"]]
