"""FastBroadcast keeps an index of each sid's rooms so that a disconnect leaves only the
rooms the sid is in; python-socketio asks every room of the namespace. The index must give
exactly python-socketio's answers, whatever sequence of room operations got there."""

from bidict import bidict
from hypothesis import given, settings
from hypothesis import strategies as st
from socketio import AsyncManager
from support.managers import standalone

from sharemyshows_rt.transport.broadcast import FastBroadcast

NAMESPACES = ("/", "/admin")
ROOMS = ("show:1", "show:2", "show:3")


class CountingRoom(bidict):
    """A room that counts how often it is asked whether a sid is in it."""

    asked = 0

    def __contains__(self, key) -> bool:
        type(self).asked += 1
        return super().__contains__(key)


OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(
            ["connect", "pre_connect", "enter", "leave", "close", "pre_disconnect", "disconnect"]
        ),
        st.integers(0, 5),  # which connection (eio session)
        st.sampled_from(NAMESPACES),
        st.sampled_from(ROOMS),
    ),
    max_size=60,
)


async def _apply(manager, operations) -> list:
    """Run the operations; what each returned or raised, for comparison."""
    outcomes = []
    for op, n, namespace, room in operations:
        eio_sid = f"eio{n}"
        sid = manager.sid_from_eio_sid(eio_sid, namespace)
        try:
            if op == "connect" and sid is not None and not manager.is_pre_connected(sid, namespace):
                # python-socketio's server never does this, and its manager answers with a
                # coroutine never awaited
                result = "already connected"
            elif op == "connect":
                result = await manager.connect(sid or eio_sid, namespace)
            elif op == "pre_connect":
                result = await manager.pre_connect(eio_sid, namespace)
            elif sid is None:
                result = "not connected"
            elif op == "enter":
                result = await manager.enter_room(sid, namespace, room)
            elif op == "leave":
                result = await manager.leave_room(sid, namespace, room)
            elif op == "close":
                result = await manager.close_room(room, namespace)
            elif op == "pre_disconnect" and not await manager.can_disconnect(sid, namespace):
                # the server asks first; python-socketio's list would hold the sid twice
                result = "not connected"
            elif op == "pre_disconnect":
                result = manager.pre_disconnect(sid, namespace)
            else:
                result = await manager.disconnect(sid, namespace)
        except Exception as exc:  # the same refusals are part of the same behaviour
            result = type(exc).__name__
        outcomes.append(result)
    return outcomes


def _state(manager) -> dict:
    rooms = {
        namespace: {room: dict(members) for room, members in by_room.items()}
        for namespace, by_room in manager.rooms.items()
    }
    sids = {
        sid for by_room in manager.rooms.values() for members in by_room.values() for sid in members
    }
    rooms_of = {
        (namespace, sid): sorted(map(str, manager.get_rooms(sid, namespace)))
        for namespace in NAMESPACES
        for sid in sids
    }
    pending = (
        {ns: list(s) for ns, s in manager.pending_connect.items()},
        {ns: list(s) for ns, s in manager.pending_disconnect.items()},
    )
    return {"rooms": rooms, "rooms_of": rooms_of, "pending": pending}


@settings(max_examples=300, deadline=None)
@given(OPERATIONS)
async def test_the_index_gives_python_socketios_answers(operations):
    ours, theirs = standalone(FastBroadcast), standalone(AsyncManager)
    assert await _apply(ours, operations) == await _apply(theirs, operations)
    assert _state(ours) == _state(theirs)
    # and the index holds nothing that python-socketio's rooms do not
    indexed = {key: set(rooms) for key, rooms in ours._rooms_of.items()}
    from_rooms: dict = {}
    for namespace, by_room in ours.rooms.items():
        for room, members in by_room.items():
            for sid in members:
                from_rooms.setdefault((namespace, sid), set()).add(room)
    assert indexed == from_rooms


async def test_a_disconnect_asks_only_the_rooms_it_is_in():
    manager = standalone(FastBroadcast)
    sids = [await manager.connect(f"eio{n}", "/") for n in range(200)]
    for sid in sids:
        await manager.enter_room(sid, "/", "show:1")
    by_room = manager.rooms["/"]
    for room in list(by_room):
        by_room[room] = CountingRoom(by_room[room])
    CountingRoom.asked = 0

    await manager.disconnect(sids[7], "/")

    assert CountingRoom.asked <= 3, f"asked {CountingRoom.asked} rooms whether the sid is in"
    assert sids[7] not in manager.rooms["/"]["show:1"]
    assert sids[7] not in manager.rooms["/"]
    assert manager.get_rooms(sids[8], "/") == [sids[8], "show:1"]
    assert manager.get_rooms(sids[7], "/") == []


async def test_the_last_disconnect_empties_the_index():
    manager = standalone(FastBroadcast)
    sids = [
        await manager.connect(f"eio{n}", namespace) for n in range(3) for namespace in NAMESPACES
    ]
    for sid in sids[::2]:
        await manager.enter_room(sid, "/", "show:2")
    for n, sid in enumerate(sids):
        await manager.disconnect(sid, NAMESPACES[n % 2])
    assert manager.rooms == {}
    assert manager._rooms_of == {}
