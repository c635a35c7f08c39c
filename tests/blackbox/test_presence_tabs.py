"""Presence is per user: several tabs are one user, announced once, gone with the last tab."""

from support.client import about, for_show
from support.expect import active_user_ids


async def watched_show(db, connect):
    """A show with a watcher in it, and a fan with two connected (not yet joined) tabs."""
    watcher, fan, show = db.add_user(), db.add_user(), db.add_show()
    observer = await connect(watcher)
    await observer.join(show.id)
    tab1, tab2 = await connect(fan), await connect(fan)
    return show, (watcher, observer), (fan, tab1, tab2)


async def test_two_tabs_are_listed_once(db, connect):
    fan, show = db.add_user(), db.add_show()
    tab1, tab2 = await connect(fan), await connect(fan)
    await tab1.join(show.id)
    _, active = await tab2.join(show.id)
    assert active_user_ids(active) == [fan.id]
    assert active["active_users"][0]["sid"] in (tab1.sid, tab2.sid)


async def test_user_joined_only_for_the_first_tab(db, connect):
    show, (_, observer), (fan, tab1, tab2) = await watched_show(db, connect)
    await tab1.join(show.id)
    await observer.wait_for("user_joined", about(fan))
    await tab2.join(show.id)
    await observer.active_users(show.id)  # barrier
    assert len(observer.received("user_joined", about(fan))) == 1


async def test_user_left_only_when_the_last_tab_leaves(db, connect):
    show, (watcher, observer), (fan, tab1, tab2) = await watched_show(db, connect)
    await tab1.join(show.id)
    await tab2.join(show.id)
    await tab1.leave(show.id)
    active = await observer.active_users(show.id)  # also a barrier
    assert observer.received("user_left") == []
    assert sorted(active_user_ids(active)) == sorted([watcher.id, fan.id])
    await tab2.leave(show.id)
    left = await observer.wait_for("user_left", about(fan))
    assert [u["user_id"] for u in left["active_users"]] == [watcher.id]


async def test_user_left_only_when_the_last_tab_disconnects(db, connect):
    show, (watcher, observer), (fan, tab1, tab2) = await watched_show(db, connect)
    await tab1.join(show.id)
    await tab2.join(show.id)
    await tab1.close()
    await listed_with_sid(observer, show.id, fan.id, tab2.sid)
    assert observer.received("user_left") == []
    await tab2.close()
    left = await observer.wait_for("user_left", about(fan))
    assert [u["user_id"] for u in left["active_users"]] == [watcher.id]


async def test_remaining_tab_is_the_one_listed(db, connect):
    show, _, (fan, tab1, tab2) = await watched_show(db, connect)
    await tab1.join(show.id)
    await tab2.join(show.id)
    await tab1.leave(show.id)
    active = await tab2.active_users(show.id)
    assert [u["sid"] for u in active["active_users"] if u["user_id"] == fan.id] == [tab2.sid]


async def listed_with_sid(client, show_id, user_id, sid):
    """The active users once `user_id` is listed with `sid`: a disconnect has no ack, so ask
    again (bounded) until the server has handled it."""
    for _ in range(100):
        active = await client.active_users(show_id)
        if [u["sid"] for u in active["active_users"] if u["user_id"] == user_id] == [sid]:
            return active
    raise AssertionError(f"user {user_id} never listed with sid {sid}: {active}")


async def test_a_tab_that_left_gets_no_more_messages_but_the_other_does(db, connect):
    show, (_, observer), (fan, tab1, tab2) = await watched_show(db, connect)
    await tab1.join(show.id)
    await tab2.join(show.id)
    await tab1.leave(show.id)
    since1, since2 = tab1.mark(), tab2.mark()
    echo = await observer.say(show.id, "who hears this?")
    assert await tab2.wait_for("new_message", lambda m: m["id"] == echo["id"], since=since2)
    await tab1.active_users(show.id)  # barrier
    assert tab1.received("new_message", since=since1) == []


async def test_checked_out_only_when_the_last_tab_leaves(db, connect):
    show, _, (fan, tab1, tab2) = await watched_show(db, connect)
    await tab1.join(show.id)
    await tab2.join(show.id)
    await db.wait_for_checkin(fan, show, checked_out=False)
    await tab1.leave(show.id)
    await tab2.active_users(show.id)
    assert db.checkin(fan, show).checked_out_at is None
    await tab2.leave(show.id)
    await db.wait_for_checkin(fan, show, checked_out=True)


async def test_messages_reach_every_tab(db, connect):
    show, (_, observer), (fan, tab1, tab2) = await watched_show(db, connect)
    await tab1.join(show.id)
    await tab2.join(show.id)
    echo = await tab1.say(show.id, "from tab one")
    for client in (tab2, observer):
        delivered = await client.wait_for("new_message", for_show(show.id))
        assert delivered == echo
