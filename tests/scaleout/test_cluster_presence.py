"""Presence across processes: one list of who is there, whichever process each tab is on;
user_joined on a user's first tab anywhere, user_left on their last; check-ins to match; and
a process killed with SIGKILL does not leave ghosts behind."""

import asyncio

import pytest
from support.client import about
from support.expect import acked_message, active_user_ids

SWEEP_DEADLINE = 15.0  # issue #5: a dead process's users are gone within this


async def marker(client, show_id: int, *watchers) -> None:
    """A message through `client`'s process that every watcher receives: whatever that
    process published about the show before it has reached the watchers by then."""
    ack = await client.call("send_message", {"show_id": show_id, "message": "marker"})
    sent = acked_message(ack)["id"]
    for watcher in watchers:
        await watcher.wait_for("new_message", lambda data: data.get("id") == sent)


async def checkins_written(cluster, process: int, db, show) -> None:
    """A barrier for `process`'s check-in writes: a newcomer joins there and their row
    appears. The process writes check-ins in the order presence changed, so whatever it
    had queued before (a check-out, say) is in the table by then."""
    newcomer = db.add_user()
    client = await cluster.connect(newcomer, process)
    await client.join(show.id)
    await db.wait_for_checkin(newcomer, show, checked_out=False)


def listing(payload, user) -> list[dict]:
    return [entry for entry in payload["active_users"] if entry["user_id"] == user.id]


async def test_active_users_lists_the_members_of_every_process(trio, scaleout_db):
    db, show = scaleout_db, scaleout_db.add_show()
    users = [db.add_user() for _ in range(len(trio))]
    clients = []
    for process, user in enumerate(users):
        client = await trio.connect(user, process)
        await client.join(show.id)
        clients.append(client)
    for process, client in enumerate(clients):
        # Each joiner's own active_users already lists everyone who joined before it.
        assert sorted(active_user_ids(await client.active_users(show.id))) == sorted(
            user.id for user in users
        ), f"get_active_users on process {process}"
        rest = await trio.rest_active_users(process, show.id, users[0])
        assert sorted(active_user_ids(rest)) == sorted(user.id for user in users), (
            f"GET active_users on process {process}"
        )


async def test_user_joined_reaches_members_on_other_processes_and_typing_too(trio, scaleout_db):
    db, show = scaleout_db, scaleout_db.add_show()
    alice, bob = db.add_user(), db.add_user()
    first = await trio.connect(alice, 0)
    await first.join(show.id)
    second = await trio.connect(bob, 2)
    await second.join(show.id)
    joined = await first.wait_for("user_joined", about(bob))
    assert sorted(active_user_ids(joined)) == sorted([alice.id, bob.id])

    await second.emit("typing", {"show_id": show.id, "is_typing": True})
    typing = await first.wait_for("user_typing", about(bob))
    assert typing["is_typing"] is True and typing["show_id"] == show.id
    await marker(first, show.id, second)  # the typing never comes back to its sender
    assert not second.received("user_typing")


async def _goes(tab, how: str, show_id: int) -> None:
    if how == "leave_show":
        await tab.leave(show_id)
    else:
        await tab.close()


@pytest.mark.parametrize("how", ["leave_show", "disconnect"])
async def test_a_user_with_a_tab_on_each_of_two_processes_is_one_member(trio, scaleout_db, how):
    db, show = scaleout_db, scaleout_db.add_show()
    fan, watcher_user = db.add_user(), db.add_user()
    heralds = [db.add_user() for _ in range(2)]
    watcher = await trio.connect(watcher_user, 2)
    await watcher.join(show.id)
    herald = []
    for process, user in enumerate(heralds):
        herald.append(await trio.connect(user, process))
        await herald[process].join(show.id)
    since = watcher.mark()

    tabs = [await trio.connect(fan, 0), await trio.connect(fan, 1)]
    await tabs[0].join(show.id)
    joined = await watcher.wait_for("user_joined", about(fan), since=since)
    assert len(listing(joined, fan)) == 1, joined
    _, active = await tabs[1].join(show.id)
    assert len(listing(active, fan)) == 1, active
    await marker(herald[1], show.id, watcher)  # after anything tab 2's join published
    assert len(watcher.received("user_joined", about(fan), since)) == 1, (
        "user_joined went out for the second tab"
    )
    for process in range(len(trio)):
        rest = await trio.rest_active_users(process, show.id, fan)
        assert len(listing(rest, fan)) == 1 and len(rest["active_users"]) == 4, (
            f"process {process}: {rest}"
        )
    await db.wait_for_checkin(fan, show, checked_out=False)

    # The tab that goes first is the one listed, so that the list shows when it has gone.
    listed_sid = listing(await watcher.active_users(show.id), fan)[0]["sid"]
    first = 0 if tabs[0].sid == listed_sid else 1
    assert tabs[first].sid == listed_sid, f"{listed_sid} is none of the fan's tabs"
    other = 1 - first
    await _goes(tabs[first], how, show.id)
    await _listed_with(trio, watcher, show, fan, tabs[other].sid)
    await marker(herald[first], show.id, watcher)  # after anything that tab's exit published
    assert not watcher.received("user_left", about(fan), since), (
        "user_left went out while the fan still had a tab on another process"
    )
    await checkins_written(trio, first, db, show)
    row = db.checkin(fan, show)
    assert row.checked_out_at is None, "checked out while a tab is still in the show"
    for process in range(len(trio)):
        rest = await trio.rest_active_users(process, show.id, fan)
        assert len(listing(rest, fan)) == 1, f"process {process}: {rest}"

    await _goes(tabs[other], how, show.id)
    left = await watcher.wait_for("user_left", about(fan), since=since)
    assert fan.id not in active_user_ids(left), left
    await db.wait_for_checkin(fan, show, checked_out=True)
    await marker(herald[other], show.id, watcher)
    await marker(herald[first], show.id, watcher)
    assert len(watcher.received("user_left", about(fan), since)) == 1
    for process in range(len(trio)):
        rest = await trio.rest_active_users(process, show.id, fan)
        assert fan.id not in active_user_ids(rest), f"process {process}: {rest}"


async def test_tabs_joining_and_leaving_on_two_processes_at_once_count_once(trio, scaleout_db):
    db, show = scaleout_db, scaleout_db.add_show()
    fan, watcher_user = db.add_user(), db.add_user()
    heralds = [db.add_user() for _ in range(2)]
    watcher = await trio.connect(watcher_user, 2)
    await watcher.join(show.id)
    herald = []
    for process, user in enumerate(heralds):
        herald.append(await trio.connect(user, process))
        await herald[process].join(show.id)
    since = watcher.mark()
    tabs = [await trio.connect(fan, 0), await trio.connect(fan, 1)]

    await asyncio.gather(*(tab.join(show.id) for tab in tabs))
    await watcher.wait_for("user_joined", about(fan), since=since)
    for process in (0, 1):
        await marker(herald[process], show.id, watcher)
    assert len(watcher.received("user_joined", about(fan), since)) == 1
    assert len(listing(await watcher.active_users(show.id), fan)) == 1

    await asyncio.gather(*(tab.leave(show.id) for tab in tabs))
    left = await watcher.wait_for("user_left", about(fan), since=since)
    assert fan.id not in active_user_ids(left), left
    for process in (0, 1):
        await marker(herald[process], show.id, watcher)
    assert len(watcher.received("user_left", about(fan), since)) == 1
    assert fan.id not in active_user_ids(await watcher.active_users(show.id))
    await db.wait_for_checkin(fan, show, checked_out=True)


async def _listed_with(cluster, watcher, show, user, sid: str) -> None:
    """Poll (bounded) until the user is listed with connection `sid`: their other tab's
    exit has been recorded in the shared presence."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5.0
    while True:
        entries = listing(await watcher.active_users(show.id), user)
        if [entry["sid"] for entry in entries] == [sid]:
            return
        assert loop.time() < deadline, f"user {user.id} still listed as {entries}, not {sid}"
        await asyncio.sleep(0.02)


async def test_killed_process_is_swept_by_a_survivor(launch_cluster, scaleout_db):
    """kill -9 of one process: within 15 s a survivor removes its connections, tells the
    room user_left for users who are gone and checks them out; a user who still has a tab
    on a live process stays listed."""
    db, show = scaleout_db, scaleout_db.add_show()
    cluster = await launch_cluster(2)
    survivor, victim = 0, 1
    watcher_user, gone, stayer = db.add_user(), db.add_user(), db.add_user()
    watcher = await cluster.connect(watcher_user, survivor)
    await watcher.join(show.id)
    gone_tab = await cluster.connect(gone, victim)
    await gone_tab.join(show.id)
    stayer_tabs = [await cluster.connect(stayer, victim), await cluster.connect(stayer, survivor)]
    for tab in stayer_tabs:
        await tab.join(show.id)
    await watcher.wait_for("user_joined", about(gone))
    await watcher.wait_for("user_joined", about(stayer))
    since = watcher.mark()

    loop = asyncio.get_running_loop()
    killed_at = loop.time()
    cluster.kill(victim)
    left = await watcher.wait_for("user_left", about(gone), since=since, timeout=SWEEP_DEADLINE)
    took = loop.time() - killed_at
    assert took <= SWEEP_DEADLINE, f"user_left came {took:.1f}s after the kill"
    assert sorted(active_user_ids(left)) == sorted([watcher_user.id, stayer.id]), left
    await db.wait_for_checkin(gone, show, checked_out=True)

    active = await watcher.active_users(show.id)
    assert sorted(active_user_ids(active)) == sorted([watcher_user.id, stayer.id]), active
    assert listing(active, stayer)[0]["sid"] == stayer_tabs[1].sid, (
        f"the stayer is listed with a connection of the dead process: {active}"
    )
    await marker(stayer_tabs[1], show.id, watcher)
    assert not watcher.received("user_left", about(stayer), since), (
        "user_left for a user who still has a tab on a live process"
    )
    rest = await cluster.rest_active_users(survivor, show.id, watcher_user)
    assert sorted(active_user_ids(rest)) == sorted([watcher_user.id, stayer.id]), rest
    await checkins_written(cluster, survivor, db, show)
    assert db.checkin(stayer, show).checked_out_at is None
    assert db.checkin(watcher_user, show).checked_out_at is None
