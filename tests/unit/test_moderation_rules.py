"""The moderation guard's rules, in memory: refusal order, time-outs that end, slow mode
counted from the last stored message, moderators and admins not slowed; and push folds
joining their message ids."""

from datetime import UTC, datetime, timedelta

import pytest

from sharemyshows_rt.backends.coalesce import MAX_FOLDED_IDS, joined
from sharemyshows_rt.backends.memory.moderation import MemorySlowGate
from sharemyshows_rt.chat.auth import Identity
from sharemyshows_rt.chat.moderation_state import Guard
from sharemyshows_rt.db.moderation import StandingState
from sharemyshows_rt.errors import BannedFromShow, SlowModeActive, TimedOut

SHOW, FAN, MOD = 7, 1, 2


class Repository:
    def __init__(self, last: datetime | None = None) -> None:
        self.last = last
        self.reads = 0

    async def last_sent(self, show_id, user_id):
        self.reads += 1
        return self.last

    async def moderators(self, show_id):
        return [(MOD, "mod", datetime.now(UTC))]


def guard(repository=None) -> Guard:
    return Guard(repository or Repository(), MemorySlowGate(), fanout=None)


def soon(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


async def test_a_show_without_moderation_is_absent():
    g = guard()
    g.apply({"show_id": SHOW, "kind": "slow", "seconds": 5})
    g.apply({"show_id": SHOW, "kind": "slow", "seconds": 0})
    assert SHOW not in g.shows


async def test_ban_comes_before_timeout_before_slow_mode():
    g = guard()
    fan = Identity(FAN, "fan")
    g.apply({"show_id": SHOW, "kind": "slow", "seconds": 60})
    g.apply({"show_id": SHOW, "kind": "timeout", "user_id": FAN, "until": soon(60)})
    g.apply({"show_id": SHOW, "kind": "ban", "user_id": FAN, "at": soon(0)})
    with pytest.raises(BannedFromShow):
        await g.check_send(fan, SHOW)
    g.apply({"show_id": SHOW, "kind": "unban", "user_id": FAN})
    with pytest.raises(TimedOut) as timed_out:
        await g.check_send(fan, SHOW)
    assert 59_000 < timed_out.value.extra["retry_after_ms"] <= 60_001
    g.apply({"show_id": SHOW, "kind": "timeout", "user_id": FAN, "until": soon(0), "lift": True})
    await g.check_send(fan, SHOW)
    with pytest.raises(SlowModeActive):
        await g.check_send(fan, SHOW)


async def test_slow_mode_counts_from_the_last_stored_message_read_once():
    repository = Repository(last=datetime.now(UTC) - timedelta(seconds=10))
    g = guard(repository)
    g.apply({"show_id": SHOW, "kind": "slow", "seconds": 30})
    for _ in range(3):
        with pytest.raises(SlowModeActive) as slowed:
            await g.check_send(Identity(FAN, "fan"), SHOW)
        assert 19_000 < slowed.value.extra["retry_after_ms"] <= 20_001
    assert repository.reads == 1


async def test_moderators_and_admins_are_not_slowed():
    g = guard()
    g.apply({"show_id": SHOW, "kind": "slow", "seconds": 30})
    for who in (Identity(MOD, "mod"), Identity(99, "admin", is_admin=True)):
        for _ in range(3):
            await g.check_send(who, SHOW)


def test_loading_skips_ended_timeouts():
    g = guard()
    past, future = datetime.now(UTC) - timedelta(seconds=1), datetime.now(UTC) + timedelta(1)
    g.load(StandingState([], [(SHOW, FAN, past), (SHOW, MOD, future)], {}))
    assert list(g.rules(SHOW).timeouts) == [MOD]


def test_folds_join_their_ids_up_to_a_bound():
    assert joined(None, {"ids": [1]}) == {"ids": [1]}
    assert joined({"ids": [1, 2]}, {"x": 1, "ids": [3]}) == {"x": 1, "ids": [1, 2, 3]}
    many = joined({"ids": list(range(MAX_FOLDED_IDS))}, {"ids": [-1]})
    assert len(many["ids"]) == MAX_FOLDED_IDS and many["ids"][-1] == -1
    assert joined({"id": 1}, {"id": 2}) == {"id": 2}


async def test_an_ended_timeout_leaves_the_show_unmoderated():
    g = guard()
    until = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    g.shows.clear()
    g.apply({"show_id": SHOW, "kind": "timeout", "user_id": FAN, "until": soon(60)})
    g.shows[SHOW].timeouts[FAN] = datetime.fromisoformat(until)
    await g.check_send(Identity(FAN, "fan"), SHOW)
    assert SHOW not in g.shows
