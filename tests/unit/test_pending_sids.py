"""FastBroadcast keeps python-socketio's pending_connect / pending_disconnect (per namespace,
the sids being set up or torn down) as dicts: the manager's own connect and disconnect
paths must behave as with python-socketio's lists, and `sid in pending` must be a hash
lookup, not a scan of every connection being set up."""

import pytest
from support.managers import FakeServer, standalone

from sharemyshows_rt.transport.broadcast import FastBroadcast

NS = "/"
OTHER_NS = "/admin"


@pytest.fixture
def manager() -> FastBroadcast:
    return standalone(FastBroadcast)


class Probe:
    """A key that counts how often it is compared for equality: a list's `in` compares it
    with every element, a dict's only with entries of the same hash (here: none)."""

    def __init__(self) -> None:
        self.comparisons = 0

    def __hash__(self) -> int:
        return hash("probe-that-matches-nothing")

    def __eq__(self, other) -> bool:
        self.comparisons += 1
        return False


# ---------------------------------------------------------------------------- the containers


def test_a_new_manager_has_empty_pending_dicts(manager):
    assert manager.pending_connect == {} and manager.pending_disconnect == {}


def test_whatever_is_assigned_becomes_dicts_of_sids(manager):
    manager.pending_connect = {NS: ["a", "b", "c"]}
    manager.pending_disconnect = {OTHER_NS: ("x",)}
    assert isinstance(manager.pending_connect[NS], dict)
    assert list(manager.pending_connect[NS]) == ["a", "b", "c"], "insertion order is kept"
    assert "b" in manager.pending_connect[NS] and "z" not in manager.pending_connect[NS]
    assert list(manager.pending_disconnect[OTHER_NS]) == ["x"]
    manager.pending_connect[OTHER_NS] = []  # what python-socketio does for a new namespace
    assert isinstance(manager.pending_connect[OTHER_NS], dict)


def test_each_manager_has_its_own_pending(manager):
    other = FastBroadcast()
    other.set_server(FakeServer())
    other.pending_connect[NS] = ["a"]
    assert NS not in manager.pending_connect


def test_sids_support_what_python_socketio_calls(manager):
    manager.pending_connect[NS] = []
    sids = manager.pending_connect[NS]
    sids.append("a")
    sids.append("b")
    assert len(sids) == 2 and "a" in sids and list(sids) == ["a", "b"]
    sids.remove("a")
    assert len(sids) == 1 and "a" not in sids and "b" in sids


async def test_membership_is_a_hash_lookup(manager):
    for n in range(1000):
        await manager.pre_connect(f"eio{n}", NS)
    pending = manager.pending_connect[NS]
    assert len(pending) == 1000
    assert isinstance(pending, dict)
    probe = Probe()
    assert probe not in pending
    assert probe.comparisons == 0, "`sid in pending` compared against the sids one by one"
    manager.pre_disconnect("sid1", NS)
    probe = Probe()
    assert probe not in manager.pending_disconnect[NS]
    assert probe.comparisons == 0


# ---------------------------------------------------------------------------- connecting


async def test_pre_connect_is_pending_until_connect(manager):
    sid = await manager.pre_connect("eio1", NS)
    assert isinstance(manager.pending_connect[NS], dict)
    assert sid in manager.pending_connect[NS]
    assert manager.is_pre_connected(sid, NS)
    assert not manager.is_connected(sid, NS)
    assert not await manager.can_disconnect(sid, NS)

    assert await manager.connect(sid, NS) == sid
    assert NS not in manager.pending_connect, "an emptied namespace is removed"
    assert not manager.is_pre_connected(sid, NS)
    assert manager.is_connected(sid, NS)
    assert manager.sid_from_eio_sid("eio1", NS) == sid


async def test_connect_without_pre_connect_takes_the_eio_sid(manager):
    sid = await manager.connect("eio1", NS)
    assert sid is not None and sid != "eio1"
    assert manager.is_connected(sid, NS)
    assert manager.pending_connect == {}


async def test_a_second_pre_connect_of_the_same_session_is_refused(manager):
    sid = await manager.pre_connect("eio1", NS)
    assert await manager.pre_connect("eio1", NS) is None
    assert list(manager.pending_connect[NS]) == [sid]


async def test_other_pending_sids_are_left_alone(manager):
    sids = [await manager.pre_connect(f"eio{n}", NS) for n in range(3)]
    other = await manager.pre_connect("eio9", OTHER_NS)
    await manager.connect(sids[1], NS)
    assert list(manager.pending_connect[NS]) == [sids[0], sids[2]]
    assert list(manager.pending_connect[OTHER_NS]) == [other]
    assert manager.is_connected(sids[1], NS)
    assert not manager.is_connected(sids[0], NS) and not manager.is_connected(sids[2], NS)
    for sid in (sids[0], sids[2]):
        await manager.connect(sid, NS)
    assert NS not in manager.pending_connect and OTHER_NS in manager.pending_connect


# ---------------------------------------------------------------------------- disconnecting


async def test_pre_disconnect_is_pending_until_disconnect(manager):
    sid = await manager.connect("eio1", NS)
    assert manager.pre_disconnect(sid, NS) == "eio1"
    assert isinstance(manager.pending_disconnect[NS], dict)
    assert sid in manager.pending_disconnect[NS]
    assert not manager.is_connected(sid, NS), "a disconnecting sid is not connected"
    assert not await manager.can_disconnect(sid, NS)

    await manager.disconnect(sid, NS)
    assert NS not in manager.pending_disconnect
    assert not manager.is_connected(sid, NS)
    assert manager.sid_from_eio_sid("eio1", NS) is None


async def test_disconnect_while_connecting_clears_pending_connect(manager):
    sid = await manager.pre_connect("eio1", NS)
    keep = await manager.pre_connect("eio2", NS)
    await manager.disconnect(sid, NS)
    assert list(manager.pending_connect[NS]) == [keep]
    assert not manager.is_connected(sid, NS)
    await manager.disconnect(keep, NS)
    assert manager.pending_connect == {}


async def test_disconnecting_one_leaves_the_others_pending(manager):
    sids = [await manager.connect(f"eio{n}", NS) for n in range(3)]
    for sid in sids:
        manager.pre_disconnect(sid, NS)
    await manager.disconnect(sids[0], NS)
    assert list(manager.pending_disconnect[NS]) == sids[1:]
    assert not manager.is_connected(sids[1], NS)


async def test_refused_connect_is_pending_both_ways_until_disconnect(manager):
    """python-socketio's always_connect refusal: pre_connect, then pre_disconnect of the
    still-connecting sid, then disconnect, which must clear both."""
    sid = await manager.pre_connect("eio1", NS)
    manager.pre_disconnect(sid, NS)
    assert sid in manager.pending_connect[NS] and sid in manager.pending_disconnect[NS]
    assert not manager.is_connected(sid, NS)
    await manager.disconnect(sid, NS)
    assert manager.pending_connect == {} and manager.pending_disconnect == {}
