"""The outbox (websocket.py): frames written to a websocket during one turn of the event loop,
and during the turn after it, leave together in one write per connection, in order; nothing
overtakes them (a send through ASGI, the close frame); a connection closed meanwhile gets
nothing; one broken transport does not keep the other connections' frames."""

from __future__ import annotations

import asyncio

import pytest
from engineio import packet as eio_packet
from support.fake_websocket import WAIT, websocket

from sharemyshows_rt.transport.websocket import Outbox, frame_of


def packet(n: int) -> eio_packet.Packet:
    return eio_packet.Packet(eio_packet.MESSAGE, f'2["new_message",{{"id":{n}}}]')


async def turns(n: int = 3) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def test_frames_of_one_turn_leave_in_one_write_in_order():
    outbox = Outbox()
    ws, protocol = websocket(outbox)
    packets = [packet(n) for n in range(3)]
    for pkt in packets:
        assert ws.write_packet(pkt)
    assert protocol.log == []  # not written while the turn goes on
    await turns()
    assert protocol.log == [("write", [frame_of(pkt) for pkt in packets])]


async def test_a_task_woken_in_this_turn_writes_into_the_same_system_call():
    """A group commit publishes, then resolves its senders' futures; the acks their tasks
    send in the next turn go out with the broadcast."""
    outbox = Outbox()
    ws, protocol = websocket(outbox)
    stored: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def sender() -> None:
        await stored
        ws.write_packet(packet(2))  # the ack

    task = asyncio.ensure_future(sender())
    await turns()
    ws.write_packet(packet(1))  # the broadcast
    stored.set_result(None)
    await asyncio.wait_for(task, WAIT)
    await turns()
    assert protocol.log == [("write", [frame_of(packet(1)), frame_of(packet(2))])]


async def test_each_connection_gets_its_own_frames():
    outbox = Outbox()
    (a, pa), (b, pb) = websocket(outbox), websocket(outbox)
    a.write_packet(packet(1))
    b.write_packet(packet(2))
    a.write_packet(packet(3))
    await turns()
    assert pa.log == [("write", [frame_of(packet(1)), frame_of(packet(3))])]
    assert pb.log == [("write", [frame_of(packet(2))])]


def sharing_one_log(*pairs):
    """The websockets of `pairs`, their writes recorded in one list (who was written when)."""
    log: list = []
    for ws, protocol in pairs:
        protocol.transport.writelines = lambda frames, ws=ws: log.append((ws, list(frames)))
    return log


async def test_a_connection_with_a_reply_is_written_before_those_waiting_for_a_broadcast():
    """Writing a broadcast to a crowd takes tens of milliseconds: a fan who has just joined
    gets the room's list before the crowd gets the broadcast, not after."""
    outbox = Outbox()
    crowd = [websocket(outbox) for _ in range(3)]
    joiner = websocket(outbox)
    log = sharing_one_log(*crowd, joiner)
    for ws, _ in crowd:
        assert ws.write_packet(packet(1))
    assert joiner[0].write_packet(packet(2), first=True)
    await turns()
    assert [ws for ws, _ in log] == [joiner[0]] + [ws for ws, _ in crowd]


async def test_a_reply_keeps_its_place_after_what_its_connection_was_sent_before():
    outbox = Outbox()
    (a, pa), (b, pb) = websocket(outbox), websocket(outbox)
    log = sharing_one_log((a, pa), (b, pb))
    a.write_packet(packet(1))
    b.write_packet(packet(1))
    b.write_packet(packet(2), first=True)
    b.write_packet(packet(3))
    await turns()
    assert log == [(b, [frame_of(packet(n)) for n in (1, 2, 3)]), (a, [frame_of(packet(1))])]


async def test_a_reply_flushed_early_is_not_written_twice():
    outbox = Outbox()
    ws, protocol = websocket(outbox)
    ws.write_packet(packet(1), first=True)
    await ws.send("3probe")  # writes what the outbox holds first
    await turns()
    assert protocol.log == [("write", [frame_of(packet(1))]), ("asgi", "websocket.send")]


async def test_later_turns_write_again():
    outbox = Outbox()
    ws, protocol = websocket(outbox)
    ws.write_packet(packet(1))
    await turns()
    ws.write_packet(packet(2))
    await turns()
    assert protocol.log == [("write", [frame_of(packet(1))]), ("write", [frame_of(packet(2))])]


async def test_the_close_frame_comes_after_the_frames_written_before_it():
    outbox = Outbox()
    ws, protocol = websocket(outbox)
    ws.write_packet(packet(1))
    await ws.close()
    assert protocol.log == [("write", [frame_of(packet(1))]), ("asgi", "websocket.close")]
    await turns()
    assert len(protocol.log) == 2  # nothing written twice


async def test_a_send_through_asgi_does_not_overtake_written_frames():
    outbox = Outbox()
    ws, protocol = websocket(outbox)
    ws.write_packet(packet(1))
    await ws.send("3probe")
    assert protocol.log == [("write", [frame_of(packet(1))]), ("asgi", "websocket.send")]


@pytest.mark.parametrize("ended", ["close_sent", "disconnected", "closing"])
async def test_a_connection_ended_before_the_write_gets_nothing(ended):
    outbox = Outbox()
    ws, protocol = websocket(outbox)
    ws.write_packet(packet(1))
    if ended == "closing":
        protocol.transport.closing = True
    else:
        setattr(protocol, ended, True)
    await turns()
    assert protocol.log == []


async def test_a_connection_that_cannot_take_a_frame_now_refuses_it():
    outbox = Outbox()
    ws, protocol = websocket(outbox)
    protocol.writable.clear()  # the transport is above its high-water mark
    assert not ws.write_packet(packet(1))
    await turns()
    assert protocol.log == []


async def test_one_broken_transport_does_not_keep_the_others_frames(caplog):
    outbox = Outbox()
    (a, pa), (b, pb) = websocket(outbox), websocket(outbox)
    pa.transport.broken = True
    a.write_packet(packet(1))
    b.write_packet(packet(2))
    await turns()
    assert pb.log == [("write", [frame_of(packet(2))])]
    assert "writing 1 frame(s) to a websocket failed" in caplog.text


def big_packet(n: int, size: int) -> eio_packet.Packet:
    return eio_packet.Packet(
        eio_packet.MESSAGE, f'2["new_message",{{"id":{n},"t":"{"x" * size}"}}]'
    )


async def test_a_connection_holds_at_most_the_limit_beyond_its_first_frame():
    outbox = Outbox()
    outbox.limit = 1000
    ws, protocol = websocket(outbox)
    assert ws.write_packet(big_packet(1, 5000))  # the first frame, whatever its size
    assert not ws.write_packet(big_packet(2, 10))  # then nothing past the limit
    other, _ = websocket(outbox)
    assert other.write_packet(big_packet(3, 500)) and other.write_packet(big_packet(4, 400))
    assert not other.write_packet(big_packet(5, 200))
    await turns()
    assert protocol.log == [("write", [frame_of(big_packet(1, 5000))])]
    assert ws.write_packet(big_packet(2, 10))  # written out: room again


class QueueServer:
    """What SendQueue uses of BoundedEngineServer."""

    sockets: dict = {}

    def start_background_task(self, target, *args, **kwargs):
        raise AssertionError("no connection is stalled here")


async def test_a_burst_past_the_limit_reaches_the_peer_whole_and_in_order():
    """What the outbox refuses waits in the connection's send queue, written as soon as
    the outbox has written its part."""
    from sharemyshows_rt.transport.backpressure import SendQueue

    outbox = Outbox()
    outbox.limit = 2000
    ws, protocol = websocket(outbox)
    queue = SendQueue(QueueServer(), limit=500)
    queue.attach(ws)
    burst = [big_packet(n, 300) for n in range(40)]  # about 13 KB in one turn
    for pkt in burst:
        queue.put_nowait(pkt)
    assert queue.qsize() > 0  # some had to wait

    async def everything_written() -> None:
        while sum(len(frames) for _, frames in protocol.log) < len(burst):
            await asyncio.sleep(0)

    await asyncio.wait_for(everything_written(), WAIT)
    written = [frame for _, frames in protocol.log for frame in frames]
    assert written == [frame_of(pkt) for pkt in burst]
    assert len(protocol.log) > 1 and queue.qsize() == 0
    queue.detach()


def test_an_outbox_outlives_a_loop_closed_before_it_wrote():
    """Frames left by a loop that closed before its write do not stop the next loop's."""
    outbox = Outbox()
    logs: list[list] = []

    async def write_and_stop_at_once() -> None:
        ws, protocol = websocket(outbox)
        logs.append(protocol.log)
        ws.write_packet(packet(1))  # the write is due two turns later: never comes

    async def write_and_let_it_go() -> None:
        ws, protocol = websocket(outbox)
        logs.append(protocol.log)
        ws.write_packet(packet(2))
        await turns()

    first = asyncio.new_event_loop()
    first.run_until_complete(write_and_stop_at_once())
    first.close()
    second = asyncio.new_event_loop()
    try:
        second.run_until_complete(write_and_let_it_go())
    finally:
        second.close()
    assert logs == [[], [("write", [frame_of(packet(2))])]]


async def test_at_once_writes_now_unless_frames_wait_in_the_outbox():
    """A crowd's broadcast goes straight to the transport, but never past a frame that is
    still waiting for the outbox's write."""
    outbox = Outbox()
    (a, pa), (b, pb) = websocket(outbox), websocket(outbox)
    assert a.write_frame(frame_of(packet(1)), at_once=True)
    assert pa.log == [("write", [frame_of(packet(1))])]  # no turn needed
    b.write_packet(packet(2))  # a reply waits in the outbox
    assert b.write_frame(frame_of(packet(3)), at_once=True)
    assert pb.log == []
    await turns()
    assert pb.log == [("write", [frame_of(packet(2)), frame_of(packet(3))])]
