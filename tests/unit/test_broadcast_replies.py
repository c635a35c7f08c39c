"""FastBroadcast marks what it sends to a room of one connection (a reply: `active_users`
to a joiner, an `error`) so that the outbox writes that connection before the crowds; a
group of messages to a room reaches each member in one put."""

from types import SimpleNamespace

from support.managers import standalone

from sharemyshows_rt.transport.broadcast import AT_ONCE, FastBroadcast
from sharemyshows_rt.transport.websocket import websocket_frame


class RecordingQueue:
    def __init__(self) -> None:
        self.put: list[tuple[str, bool]] = []

    def put_nowait(self, item, first: bool = False) -> None:
        self.put.append((item.data, first))

    def put_many_nowait(self, items, frames: bytes, at_once: bool = False) -> None:
        self.put.append(([item.data for item in items], frames))
        self.at_once = at_once


async def manager_with(count: int):
    manager = standalone(FastBroadcast)
    sockets = {}
    sids = []
    for n in range(count):
        eio_sid = f"eio{n}"
        sid = await manager.connect(eio_sid, "/")
        await manager.enter_room(sid, "/", "show:1")
        sockets[eio_sid] = SimpleNamespace(closed=False, queue=RecordingQueue())
        sids.append(sid)
    manager.server.eio.sockets = sockets
    return manager, sids, sockets


async def test_a_reply_to_one_connection_goes_first():
    manager, sids, sockets = await manager_with(3)
    await manager.emit("active_users", {"count": 3}, "/", to=sids[1])
    assert sockets["eio1"].queue.put == [('2["active_users",{"count":3}]', True)]
    assert sockets["eio0"].queue.put == sockets["eio2"].queue.put == []


async def test_a_broadcast_to_a_room_does_not():
    manager, sids, sockets = await manager_with(3)
    await manager.emit("user_joined", {"count": 3}, "/", room="show:1", skip_sid=sids[0])
    assert [socket.queue.put for socket in sockets.values()] == [
        [],
        [('2["user_joined",{"count":3}]', False)],
        [('2["user_joined",{"count":3}]', False)],
    ]


async def test_a_group_reaches_each_member_in_one_put_with_its_frames_joined():
    manager, sids, sockets = await manager_with(3)
    await manager.emit_each(
        "new_message", [({"id": 1}, None), ({"id": 2}, [sids[0]])], "/", "show:1"
    )
    first, second = '2["new_message",{"id":1}]', '2["new_message",{"id":2}]'
    frame_1, frame_2 = websocket_frame("4" + first), websocket_frame("4" + second)  # MESSAGE
    # The first member's history already held message 2: it gets message 1 alone.
    assert sockets["eio0"].queue.put == [([first], frame_1)]
    for eio_sid in ("eio1", "eio2"):
        assert sockets[eio_sid].queue.put == [([first, second], frame_1 + frame_2)]


async def test_a_crowd_is_written_at_once_a_room_of_senders_through_the_outbox():
    """Far more members than messages: few await an ack to share the write with."""
    manager, _, sockets = await manager_with(AT_ONCE)
    await manager.emit_each("new_message", [({"id": 1}, None)], "/", "show:1")
    assert all(socket.queue.at_once for socket in sockets.values())
    await manager.emit_each("new_message", [({"id": 2}, None), ({"id": 3}, None)], "/", "show:1")
    assert not any(socket.queue.at_once for socket in sockets.values())
