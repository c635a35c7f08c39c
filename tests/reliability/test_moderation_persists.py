"""Bans, time-outs and slow mode are stored: a restarted server keeps applying them."""

from support.moderation import act, add_moderator, ok, refused


async def test_moderation_survives_a_restart(launch, reliability_db):
    db = reliability_db
    rig = await launch()
    show, moderator, banned, quiet, fan = (
        db.add_show(),
        db.add_user(),
        db.add_user(),
        db.add_user(),
        db.add_user(),
    )
    add_moderator(db, show, moderator)
    boss = await rig.connect(moderator)
    ok(await act(boss, "ban_user", {"show_id": show.id, "user_id": banned.id}))
    ok(await act(boss, "timeout_user", {"show_id": show.id, "user_id": quiet.id, "seconds": 600}))
    ok(await act(boss, "set_slow_mode", {"show_id": show.id, "seconds": 300}))

    await rig.stop()
    rig.clients.clear()
    await rig.start()

    refused(
        await act(await rig.connect(banned), "join_show", {"show_id": show.id}), "Banned from show"
    )
    silenced = await rig.connect(quiet)
    await silenced.join(show.id)
    message = {"show_id": show.id, "message": "hello again"}
    refused(await act(silenced, "send_message", message), "Timed out")
    slowed = await rig.connect(fan)
    since = slowed.mark()
    await slowed.join(show.id)
    assert slowed.received("slow_mode", since=since) == [{"show_id": show.id, "seconds": 300}]
    ok(await act(slowed, "send_message", message))
    refused(await act(slowed, "send_message", message), "Slow mode")
