"""FastBroadcast marks what it sends to a room of one connection (a reply: `active_users`
to a joiner, an `error`) so that the outbox writes that connection before the crowds."""

from types import SimpleNamespace

from sharemyshows_rt.broadcast import FastBroadcast
from support.managers import standalone


class RecordingQueue:
    def __init__(self) -> None:
        self.put: list[tuple[str, bool]] = []

    def put_nowait(self, item, first: bool = False) -> None:
        self.put.append((item.data, first))


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
        [], [('2["user_joined",{"count":3}]', False)], [('2["user_joined",{"count":3}]', False)]]
