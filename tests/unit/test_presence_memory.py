"""MemoryPresence: per-user membership over connections; first arrival and last departure."""

from sharemyshows_rt.backends.memory.presence import MemoryPresence
from sharemyshows_rt.backends.presence import Departure

SHOW, OTHER_SHOW = 7, 8
ALICE, BOB = 1, 2


async def members(presence, show_id=SHOW):
    """Everyone present, as (user_id, username, sid); checks the count agrees."""
    listed, count = await presence.page(show_id, 0, 1000)
    assert count == len(listed)
    return [(m.user_id, m.username, m.sid) for m in listed]


async def test_first_connection_of_a_user_is_first():
    presence = MemoryPresence()
    assert await presence.join(SHOW, ALICE, "alice", "a1") is True
    assert await presence.join(SHOW, ALICE, "alice", "a2") is False
    assert await presence.join(SHOW, BOB, "bob", "b1") is True


async def test_first_in_each_show_separately():
    presence = MemoryPresence()
    assert await presence.join(SHOW, ALICE, "alice", "a1") is True
    assert await presence.join(OTHER_SHOW, ALICE, "alice", "a1") is True


async def test_members_are_each_user_once_in_order_of_arrival():
    presence = MemoryPresence()
    await presence.join(SHOW, BOB, "bob", "b1")
    await presence.join(SHOW, ALICE, "alice", "a1")
    await presence.join(SHOW, ALICE, "alice", "a2")
    assert await members(presence) == [(BOB, "bob", "b1"), (ALICE, "alice", "a1")]


async def test_members_of_an_empty_show():
    assert await MemoryPresence().page(SHOW, 0, 10) == ([], 0)


async def test_page_lists_a_window_and_counts_everyone():
    presence = MemoryPresence()
    for user_id in range(1, 6):
        await presence.join(SHOW, user_id, f"fan{user_id}", f"s{user_id}")
    listed, count = await presence.page(SHOW, 1, 2)
    assert [m.user_id for m in listed] == [2, 3] and count == 5
    listed, count = await presence.page(SHOW, 4, 10)
    assert [m.user_id for m in listed] == [5] and count == 5


async def test_leaving_one_tab_is_not_last_and_lists_the_remaining_tab():
    presence = MemoryPresence()
    await presence.join(SHOW, ALICE, "alice", "a1")
    await presence.join(SHOW, ALICE, "alice", "a2")
    assert await presence.leave(SHOW, "a1") == Departure(SHOW, ALICE, "alice", last=False)
    assert await members(presence) == [(ALICE, "alice", "a2")]


async def test_leaving_the_last_tab_is_last():
    presence = MemoryPresence()
    await presence.join(SHOW, ALICE, "alice", "a1")
    await presence.join(SHOW, ALICE, "alice", "a2")
    await presence.leave(SHOW, "a2")
    assert await presence.leave(SHOW, "a1") == Departure(SHOW, ALICE, "alice", last=True)
    assert await members(presence) == []


async def test_leaving_where_never_joined_is_none():
    presence = MemoryPresence()
    await presence.join(SHOW, ALICE, "alice", "a1")
    assert await presence.leave(OTHER_SHOW, "a1") is None
    assert await presence.leave(SHOW, "unknown") is None
    assert await members(presence) == [(ALICE, "alice", "a1")]


async def test_leaving_twice_is_none_the_second_time():
    presence = MemoryPresence()
    await presence.join(SHOW, ALICE, "alice", "a1")
    assert (await presence.leave(SHOW, "a1")).last is True
    assert await presence.leave(SHOW, "a1") is None


async def test_rejoining_after_the_last_departure_is_first_again():
    presence = MemoryPresence()
    await presence.join(SHOW, ALICE, "alice", "a1")
    await presence.leave(SHOW, "a1")
    assert await presence.join(SHOW, ALICE, "alice", "a1") is True


async def test_leave_all_leaves_every_show_of_that_connection_only():
    presence = MemoryPresence()
    await presence.join(OTHER_SHOW, ALICE, "alice", "a1")
    await presence.join(SHOW, ALICE, "alice", "a1")
    await presence.join(SHOW, ALICE, "alice", "a2")
    await presence.join(SHOW, BOB, "bob", "b1")
    departures = await presence.leave_all("a1")
    assert sorted(departures, key=lambda d: d.show_id) == [
        Departure(SHOW, ALICE, "alice", last=False),
        Departure(OTHER_SHOW, ALICE, "alice", last=True),
    ]
    assert await members(presence) == [(ALICE, "alice", "a2"), (BOB, "bob", "b1")]
    assert await members(presence, OTHER_SHOW) == []


async def test_leave_all_of_an_unknown_connection_is_empty():
    assert await MemoryPresence().leave_all("nobody") == []


async def test_is_member_is_per_connection():
    presence = MemoryPresence()
    await presence.join(SHOW, ALICE, "alice", "a1")
    assert await presence.is_member(SHOW, "a1") is True
    assert await presence.is_member(SHOW, "a2") is False
    assert await presence.is_member(OTHER_SHOW, "a1") is False
    await presence.leave(SHOW, "a1")
    assert await presence.is_member(SHOW, "a1") is False


async def test_joining_twice_with_the_same_connection_counts_once():
    presence = MemoryPresence()
    await presence.join(SHOW, ALICE, "alice", "a1")
    await presence.join(SHOW, ALICE, "alice", "a1")
    assert (await presence.leave(SHOW, "a1")).last is True
