"""Capped and coalesced presence (`PRESENCE_LIST_LIMIT`, `PRESENCE_COALESCE_MS`).

- `active_users` (after join_show, on get_active_users) and the `active_users` of
  `user_joined` / `user_left` list at most the limit, with the exact `count` and `truncated`;
- get_active_users pages with `offset` / `limit`;
- in a room at or below the limit every first join (last leave) is announced at once, one
  `user_joined` (`user_left`) per user;
- in a room larger than the limit the joins (and, separately, the leaves) of a window are
  folded into one broadcast listing the newest of them (at most the limit) in `joined`
  (`left`), how many in `joined_count` (`left_count`), about the last of them, and not sent
  to the joiners themselves.

These need settings of their own, so they run on a server of their own per backend (a limit
of 3 and a window of 300 ms), started like the reliability rigs but on SQLite as well as on
PostgreSQL; the session's `deployment` runs on the defaults."""

from __future__ import annotations

from support.client import ChatClient, about, for_show
from support.database import Show, User
from support.rigs import Rig, rig_fixtures
from support.scenes import Person

LIMIT = 3
WINDOW_MS = 300
SETTINGS = {"PRESENCE_LIST_LIMIT": LIMIT, "PRESENCE_COALESCE_MS": WINDOW_MS}


shared_rig, rig = rig_fixtures("presence-caps", **SETTINGS)


# ---------------------------------------------------------------------------- helpers


def listed(payload) -> list[int]:
    """The user ids of an `active_users` list (which, capped, may be shorter than `count`)."""
    assert isinstance(payload, dict) and isinstance(payload.get("active_users"), list), payload
    for entry in payload["active_users"]:
        assert isinstance(entry, dict) and {"user_id", "username", "sid"} <= entry.keys(), (
            f"an active user has user_id, username and sid: {entry!r}"
        )
    return [entry["user_id"] for entry in payload["active_users"]]


def assert_list(payload, present: list[User], *, offset: int = 0, limit: int = LIMIT) -> None:
    """`payload` lists the page of `present` (in order of arrival) from `offset`, at most
    `limit` long, with the exact count and `truncated` when users are left out after it."""
    page = present[offset : offset + limit]
    assert listed(payload) == [user.id for user in page], (
        f"expected users {[user.id for user in page]} listed: {payload!r}"
    )
    assert [entry["username"] for entry in payload["active_users"]] == [
        user.username for user in page
    ], payload
    assert payload.get("count") == len(present), f"count should be {len(present)}: {payload!r}"
    assert payload.get("truncated") is (offset + len(page) < len(present)), (
        f"truncated should be {offset + len(page) < len(present)}: {payload!r}"
    )


def refs(users: list[User]) -> list[dict]:
    return [{"user_id": user.id, "username": user.username} for user in users]


def announcing(user: User):
    """A `user_joined` / `user_left` about `user`, alone or as the last of a batch."""
    return lambda data: isinstance(data, dict) and data.get("user_id") == user.id


async def connected(rig: Rig, count: int) -> list[Person]:
    """`count` new users, each connected (not yet in any show)."""
    people = []
    for _ in range(count):
        user = rig.db.add_user()
        people.append(Person(user, await rig.connect(user)))
    return people


async def join_in_turn(people: list[Person], show: Show) -> None:
    """Each joins, acknowledged, one after the other: the order of arrival is theirs."""
    for person in people:
        await person.client.join(show.id)


async def room(rig: Rig, size: int) -> tuple[Show, list[Person]]:
    """A new show with `size` users in it, joined in turn, every announcement of their
    joins delivered (the first member has seen the last joiner announced)."""
    show = rig.db.add_show()
    people = await connected(rig, size)
    await join_in_turn(people, show)
    if size > 1:
        await people[0].client.wait_for("user_joined", announcing(people[-1].user))
    for person in people:
        await person.client.active_users(show.id)  # barrier: what was sent to it is in
    return show, people


def presence_changes(client: ChatClient, since: int) -> list[tuple[str, dict]]:
    return [
        (name, data) for name, data in client.events[since:] if name in ("user_joined", "user_left")
    ]


# ---------------------------------------------------------------------------- lists


async def test_active_users_after_join_lists_at_most_the_limit_with_the_exact_count(rig):
    show = rig.db.add_show()
    people = await connected(rig, LIMIT + 2)
    for arrived, person in enumerate(people, start=1):
        _, active = await person.client.join(show.id)
        assert active["show_id"] == show.id
        assert_list(active, [p.user for p in people[:arrived]])
    assert len(listed(active)) == LIMIT and active["count"] == LIMIT + 2
    assert active["truncated"] is True


async def test_get_active_users_lists_at_most_the_limit_in_its_answer_and_ack(rig):
    show, people = await room(rig, LIMIT + 2)
    present = [p.user for p in people]
    asker = people[-1].client
    assert_list(await asker.active_users(show.id), present)
    since = asker.mark()
    ack = await asker.call("get_active_users", {"show_id": show.id})
    assert ack.get("ok") is True, ack
    assert_list(ack, present)
    assert_list(await asker.wait_for("active_users", for_show(show.id), since=since), present)


async def test_active_users_at_the_limit_are_not_truncated(rig):
    show, people = await room(rig, LIMIT)
    active = await people[0].client.active_users(show.id)
    assert_list(active, [p.user for p in people])
    assert active["truncated"] is False and active["count"] == LIMIT


async def test_get_active_users_pages_with_offset_and_limit(rig):
    show, people = await room(rig, LIMIT + 2)
    present = [p.user for p in people]
    asker = people[0].client
    for offset, limit in [(0, LIMIT), (LIMIT, LIMIT), (1, 2), (2, 2), (4, 1), (5, LIMIT), (9, 2)]:
        since = asker.mark()
        ack = await asker.call(
            "get_active_users", {"show_id": show.id, "offset": offset, "limit": limit}
        )
        assert ack.get("ok") is True and ack.get("offset") == offset, ack
        assert_list(ack, present, offset=offset, limit=limit)
        answer = await asker.wait_for("active_users", for_show(show.id), since=since)
        assert_list(answer, present, offset=offset, limit=limit)


async def test_get_active_users_pages_through_everyone(rig):
    show, people = await room(rig, LIMIT * 2 + 1)
    asker, seen, offset = people[0].client, [], 0
    while True:
        ack = await asker.call("get_active_users", {"show_id": show.id, "offset": offset})
        assert ack["count"] == len(people) and len(ack["active_users"]) <= LIMIT, ack
        seen += listed(ack)
        offset += len(ack["active_users"])
        if not ack["truncated"]:
            break
    assert seen == [p.user.id for p in people]


# ---------------------------------------------------------------------------- small rooms


async def test_in_a_small_room_each_first_join_is_announced_at_once(rig):
    show = rig.db.add_show()
    people = await connected(rig, LIMIT)
    marks = [p.client.mark() for p in people]
    for arrived, joiner in enumerate(people, start=1):
        await joiner.client.join(show.id)
        present = [p.user for p in people[:arrived]]
        for earlier in people[: arrived - 1]:
            # At once: sent before the joiner's ack, so before this barrier's answer.
            await earlier.client.active_users(show.id)
            announced = earlier.client.received("user_joined", about(joiner.user))
            assert len(announced) == 1, f"one user_joined about {joiner.user.id}: {announced}"
            change = announced[0]
            assert change["show_id"] == show.id and change["username"] == joiner.user.username
            assert_list(change, present)
            assert "joined" not in change and "joined_count" not in change, change
    for position, person in enumerate(people):
        await person.client.active_users(show.id)  # barrier
        # One per user who came later; never about oneself.
        assert [
            data["user_id"] for name, data in presence_changes(person.client, marks[position])
        ] == [p.user.id for p in people[position + 1 :]]


async def test_in_a_small_room_a_last_leave_is_announced_at_once(rig):
    show, people = await room(rig, LIMIT)
    leaver, stayers = people[-1], people[:-1]
    marks = [p.client.mark() for p in stayers]
    await leaver.client.leave(show.id)
    for stayer, since in zip(stayers, marks):
        await stayer.client.active_users(show.id)  # barrier: sent before the leave's ack
        changes = presence_changes(stayer.client, since)
        assert [name for name, _ in changes] == ["user_left"], changes
        change = changes[0][1]
        assert change["user_id"] == leaver.user.id and change["username"] == leaver.user.username
        assert_list(change, [p.user for p in stayers])
        assert "left" not in change and "left_count" not in change, change


# ---------------------------------------------------------------------------- large rooms


async def test_joins_of_a_window_in_a_large_room_are_folded_into_one_user_joined(rig):
    show, members = await room(rig, LIMIT)
    newcomers = await connected(rig, LIMIT + 2)
    marks = [m.client.mark() for m in members]
    await join_in_turn(newcomers, show)
    last = newcomers[-1].user
    everyone = [p.user for p in members + newcomers]
    for member, since in zip(members, marks):
        await member.client.wait_for("user_joined", announcing(last), since=since)
        await member.client.active_users(show.id)  # barrier: nothing else is on its way
        changes = presence_changes(member.client, since)
        assert [name for name, _ in changes] == ["user_joined"], (
            f"the {len(newcomers)} joins should make one broadcast: {changes}"
        )
        change = changes[0][1]
        assert change["show_id"] == show.id
        assert change["user_id"] == last.id and change["username"] == last.username, change
        assert change["joined"] == refs([p.user for p in newcomers[-LIMIT:]]), change
        assert change["joined_count"] == len(newcomers), change
        assert_list(change, everyone)
    for newcomer in newcomers:
        await newcomer.client.active_users(show.id)  # barrier
        assert newcomer.client.received("user_joined") == [], (
            "a joiner is not sent the broadcast announcing its own join"
        )


async def test_a_folded_user_joined_lists_all_joiners_when_they_fit(rig):
    show, members = await room(rig, LIMIT)
    newcomers = await connected(rig, 2)
    since = members[0].client.mark()
    await join_in_turn(newcomers, show)
    change = await members[0].client.wait_for(
        "user_joined", announcing(newcomers[-1].user), since=since
    )
    assert change["joined"] == refs([p.user for p in newcomers]), change
    assert change["joined_count"] == 2
    assert_list(change, [p.user for p in members + newcomers])
    await members[0].client.active_users(show.id)  # barrier
    assert len(presence_changes(members[0].client, since)) == 1


async def test_leaves_of_a_window_in_a_large_room_are_folded_into_one_user_left(rig):
    show, people = await room(rig, LIMIT * 2 + 2)
    stayers, leavers = people[: -(LIMIT + 1)], people[-(LIMIT + 1) :]
    marks = [p.client.mark() for p in stayers]
    for leaver in leavers:
        await leaver.client.leave(show.id)
    last = leavers[-1].user
    for stayer, since in zip(stayers, marks):
        await stayer.client.wait_for("user_left", announcing(last), since=since)
        await stayer.client.active_users(show.id)  # barrier
        changes = presence_changes(stayer.client, since)
        assert [name for name, _ in changes] == ["user_left"], (
            f"the {len(leavers)} leaves should make one broadcast: {changes}"
        )
        change = changes[0][1]
        assert change["show_id"] == show.id
        assert change["user_id"] == last.id and change["username"] == last.username, change
        assert change["left"] == refs([p.user for p in leavers[-LIMIT:]]), change
        assert change["left_count"] == len(leavers), change
        assert_list(change, [p.user for p in stayers])


async def test_joins_and_leaves_of_one_window_make_one_broadcast_each(rig):
    show, people = await room(rig, LIMIT + 2)
    watcher, leaver = people[0], people[-1]
    first, second = await connected(rig, 2)
    since = watcher.client.mark()
    await first.client.join(show.id)
    await leaver.client.leave(show.id)
    await second.client.join(show.id)
    await watcher.client.wait_for("user_joined", announcing(second.user), since=since)
    await watcher.client.wait_for("user_left", announcing(leaver.user), since=since)
    await watcher.client.active_users(show.id)  # barrier
    changes = presence_changes(watcher.client, since)
    assert sorted(name for name, _ in changes) == ["user_joined", "user_left"], changes
    joined = next(data for name, data in changes if name == "user_joined")
    left = next(data for name, data in changes if name == "user_left")
    assert joined["joined"] == refs([first.user, second.user]) and joined["joined_count"] == 2
    assert left["left"] == refs([leaver.user]) and left["left_count"] == 1
    assert "left" not in joined and "joined" not in left, changes
    present = [p.user for p in people[:-1]] + [first.user, second.user]
    assert_list(joined, present)
    assert_list(left, present)


# ---------------------------------------------------------------------------- known gap


async def test_in_a_large_room_a_user_who_left_is_no_longer_listed(rig):
    show, people = await room(rig, LIMIT + 2)
    leaver, watcher = people[0], people[1]
    remaining = [p.user for p in people[1:]]
    await watcher.client.active_users(show.id)  # the first page, as the room shows it now
    since = watcher.client.mark()
    await leaver.client.leave(show.id)
    answer = await watcher.client.active_users(show.id)
    left = await watcher.client.wait_for("user_left", announcing(leaver.user), since=since)
    problems = []
    for what, payload in (("get_active_users", answer), ("user_left", left)):
        if listed(payload) != [user.id for user in remaining[:LIMIT]]:
            problems.append(
                f"{what} lists {listed(payload)} (count {payload['count']}) after "
                f"user {leaver.user.id} left"
            )
    assert not problems, "; ".join(problems)
