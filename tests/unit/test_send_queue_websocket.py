"""SendQueue on the websocket transport: a packet is written as it is put while the peer
keeps up; what the peer is not ready for waits, in order, for a flusher; a close marker
closes after the backlog; a peer that is gone, or a detached websocket, costs nothing.
Also the bounds (typing dropped past the soft limit, the connection closed past the hard
limit) and, briefly, the polling mode (`get()` hands back a future)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from engineio import packet as eio_packet
from socketio import packet as sio_packet

from sharemyshows_rt.transport.backpressure import SendQueue
from sharemyshows_rt.transport.wire import OrjsonPacket

WAIT = 2.0  # any single wait in these tests
LIMIT = 10
SOFT = max(1, LIMIT // 5)  # the queue's soft limit, by its own rule


def message(n: int) -> eio_packet.Packet:
    """A Socket.IO new_message event as the broadcast sends it (an Engine.IO MESSAGE)."""
    encoded = OrjsonPacket(
        sio_packet.EVENT, namespace="/", data=["new_message", {"show_id": 1, "id": n}], binary=False
    ).encode()
    return eio_packet.Packet(eio_packet.MESSAGE, encoded)


def typing(n: int) -> eio_packet.Packet:
    encoded = OrjsonPacket(
        sio_packet.EVENT,
        namespace="/",
        data=["user_typing", {"show_id": 1, "user_id": n, "is_typing": True}],
        binary=False,
    ).encode()
    return eio_packet.Packet(eio_packet.MESSAGE, encoded)


class FakeWebSocket:
    """Stands in for AbortingWebSocket. The peer is either keeping up (`write_packet` writes)
    or behind (it refuses); `wait_writable` blocks until the test lets it return: True once
    the peer reads again (`catch_up`), False when it is gone (`vanish`). `log` records every
    write and close in the order they happened."""

    def __init__(self) -> None:
        self.log: list = []
        self.budget: int | None = None  # packets it takes before falling behind; None: any
        self.gone = False
        self.waits = 0
        self._released = asyncio.Event()

    @property
    def written(self) -> list:
        return [entry for entry in self.log if entry != "close"]

    @property
    def closes(self) -> int:
        return self.log.count("close")

    def write_packet(self, pkt, first: bool = False) -> bool:
        if self.gone or self.budget == 0:
            return False
        if self.budget is not None:
            self.budget -= 1
        self.log.append(pkt)
        return True

    def write_frame(self, frame: bytes, first: bool = False, at_once: bool = False) -> bool:
        """A group's frames joined: taken whole (counting as one packet), or refused."""
        return self.write_packet(frame, first)

    async def wait_writable(self) -> bool:
        self.waits += 1
        if not self.gone:
            await self._released.wait()
            self._released.clear()
        return not self.gone

    async def close(self) -> None:
        self.log.append("close")

    # ------------------------------------------------------------------ the test's controls

    def fall_behind(self) -> None:
        self.budget = 0

    def catch_up(self, packets: int | None = None) -> None:
        """The peer reads: it takes `packets` more (None: any number), and a pending
        wait_writable returns True."""
        self.budget = packets
        self._released.set()

    def vanish(self) -> None:
        self.gone = True
        self._released.set()


class FakeServer:
    """What SendQueue uses of BoundedEngineServer: its sockets, and starting close_stalled."""

    def __init__(self) -> None:
        self.sockets: dict = {}
        self.started: list = []

    def start_background_task(self, target, *args, **kwargs):
        self.started.append((target, args))

    async def close_stalled(self, socket) -> None:  # never run: start_background_task records
        raise AssertionError("not expected to run in these tests")


@pytest.fixture
def server() -> FakeServer:
    return FakeServer()


@pytest.fixture
async def ws():
    websocket = FakeWebSocket()
    yield websocket
    websocket.vanish()  # let a flusher still waiting end, as a lost connection would
    for _ in range(3):
        await asyncio.sleep(0)


@pytest.fixture
def queue(server, ws) -> SendQueue:
    queue = SendQueue(server, LIMIT)
    server.sockets["eio-sid"] = SimpleNamespace(sid="eio-sid", queue=queue)
    queue.attach(ws)
    return queue


async def settle() -> None:
    """Let the flusher task run up to its next real wait (a few loop turns, no sleeping)."""
    for _ in range(5):
        await asyncio.sleep(0)


def tasks_held(queue: SendQueue) -> list:
    """The asyncio tasks the queue references (its flusher, while one exists)."""
    return [value for value in vars(queue).values() if isinstance(value, asyncio.Task)]


async def drained(queue: SendQueue) -> None:
    await asyncio.wait_for(queue.join(), WAIT)


# ---------------------------------------------------------------------------- direct writes


async def test_idle_peer_gets_each_packet_written_as_it_is_put(queue, ws):
    packets = [message(n) for n in range(3)]
    for pkt in packets:
        queue.put_nowait(pkt)
        assert ws.written[-1] is pkt, "written at once, without a task or a loop turn"
    assert ws.written == packets
    assert queue.qsize() == 0
    await drained(queue)
    assert ws.waits == 0


async def test_awaited_put_writes_too(queue, ws):
    """engine.io's socket.send awaits queue.put: that path writes directly as well."""
    pkt = message(1)
    await queue.put(pkt)
    assert ws.written == [pkt] and queue.qsize() == 0


async def test_a_group_is_written_as_its_joined_frames_when_the_peer_keeps_up(queue, ws):
    """A group commit's messages to a show: one write of their frames, joined once."""
    packets = [message(n) for n in range(3)]
    queue.put_many_nowait(packets, b"the three frames")
    assert ws.written == [b"the three frames"] and queue.qsize() == 0


# ---------------------------------------------------------------------------- a peer behind


async def test_a_group_for_a_peer_behind_waits_packet_by_packet_in_order(queue, ws):
    ws.fall_behind()
    packets = [message(n) for n in range(3)]
    queue.put_many_nowait(packets, b"joined")
    assert ws.written == [] and queue.qsize() == 3
    ws.catch_up()
    await drained(queue)
    assert ws.written == packets


async def test_a_group_never_overtakes_a_backlog(queue, ws):
    ws.fall_behind()
    first = message(1)
    queue.put_nowait(first)
    await settle()  # the flusher is waiting for the peer
    ws.budget = None  # the peer could take more now, but the flusher has not run yet
    group = [message(2), message(3)]
    queue.put_many_nowait(group, b"joined")
    assert ws.written == [] and queue.qsize() == 3
    ws.catch_up()
    await drained(queue)
    assert ws.written == [first, *group]


async def test_a_group_past_the_hard_limit_closes_the_connection(queue, ws, server):
    ws.fall_behind()
    queue.put_many_nowait([message(n) for n in range(LIMIT + 1)], b"joined")
    assert queue.overflowed and server.started


async def test_backlog_is_flushed_in_order_once_the_peer_reads(queue, ws):
    ws.fall_behind()
    packets = [message(n) for n in range(5)]
    for pkt in packets:
        queue.put_nowait(pkt)
    await settle()
    assert ws.written == [] and queue.qsize() == 5
    assert ws.waits == 1, "the flusher waits for the peer"
    ws.catch_up()
    await drained(queue)
    assert ws.written == packets
    assert queue.qsize() == 0


async def test_a_packet_put_during_a_backlog_never_overtakes_it(queue, ws):
    ws.fall_behind()
    first = message(1)
    queue.put_nowait(first)
    await settle()  # the flusher is waiting for the peer
    ws.budget = None  # the peer could take a frame now, but the flusher has not run yet
    second = message(2)
    queue.put_nowait(second)
    assert ws.written == [], "the new packet must not be written before the queued one"
    assert queue.qsize() == 2
    ws.catch_up()
    await drained(queue)
    assert ws.written == [first, second]


async def test_order_holds_when_the_peer_falls_behind_again_mid_flush(queue, ws):
    ws.fall_behind()
    packets = [message(n) for n in range(4)]
    for pkt in packets[:3]:
        queue.put_nowait(pkt)
    await settle()
    ws.catch_up(packets=1)  # reads one frame, then is behind again
    await settle()
    assert ws.written == packets[:1]
    queue.put_nowait(packets[3])
    assert ws.written == packets[:1] and queue.qsize() == 3
    ws.catch_up()
    await drained(queue)
    assert ws.written == packets


async def test_packets_queued_before_attach_are_written_on_attach(server, ws):
    """The open packet is queued before the websocket is accepted: attach writes it at once
    (no task) when the peer can take it."""
    queue = SendQueue(server, LIMIT)
    early = [message(n) for n in range(3)]
    for pkt in early:
        queue.put_nowait(pkt)
    queue.attach(ws)
    assert ws.written == early, "written by attach itself, in order"
    assert queue.qsize() == 0 and tasks_held(queue) == []
    later = message(9)
    queue.put_nowait(later)
    assert ws.written == [*early, later]
    await drained(queue)


async def test_packets_queued_before_attach_go_first(server, ws):
    """Upgraded from polling: what was queued meanwhile is written before anything new."""
    queue = SendQueue(server, LIMIT)
    early = [message(n) for n in range(2)]
    for pkt in early:
        queue.put_nowait(pkt)
    ws.fall_behind()
    queue.attach(ws)
    late = message(9)
    queue.put_nowait(late)
    assert ws.written == []
    ws.catch_up()
    await drained(queue)
    assert ws.written == [*early, late]


async def test_no_task_is_kept_once_the_backlog_is_written(queue, ws):
    """A flusher exists only while there is a backlog: a finished task kept per connection
    would be memory held for the connection's whole life."""
    ws.fall_behind()
    queue.put_nowait(message(1))
    assert len(tasks_held(queue)) == 1
    ws.catch_up()
    await drained(queue)
    await settle()
    assert tasks_held(queue) == []


async def test_a_second_backlog_is_flushed_like_the_first(queue, ws):
    packets = [message(n) for n in range(6)]
    for rounds in (packets[:3], packets[3:]):
        ws.fall_behind()
        for pkt in rounds:
            queue.put_nowait(pkt)
        await settle()
        ws.catch_up()
        await drained(queue)
        await settle()
    assert ws.written == packets


# ---------------------------------------------------------------------------- closing


@pytest.mark.parametrize(
    "mark", [lambda q: q.end(), lambda q: q.put_nowait(None)], ids=["end", "put_None"]
)
async def test_close_marker_closes_after_the_backlog(queue, ws, mark):
    ws.fall_behind()
    packets = [message(n) for n in range(3)]
    for pkt in packets:
        queue.put_nowait(pkt)
    mark(queue)
    await settle()
    assert ws.closes == 0, "closed before the backlog was written"
    ws.catch_up()
    await drained(queue)
    assert ws.log == [*packets, "close"]


@pytest.mark.parametrize(
    "mark", [lambda q: q.end(), lambda q: q.put_nowait(None)], ids=["end", "put_None"]
)
async def test_close_marker_on_an_idle_queue_closes_at_once(queue, ws, mark):
    mark(queue)
    await drained(queue)
    await settle()
    assert ws.log == ["close"]


async def test_nothing_is_written_after_the_close_marker_even_while_the_close_is_under_way(
    queue, ws
):
    closing = asyncio.Event()

    async def slow_close() -> None:  # like AbortingWebSocket: the close frame goes out later
        closing.set()
        await asyncio.sleep(0)
        ws.log.append("close")

    ws.close = slow_close
    queue.end()
    await asyncio.wait_for(closing.wait(), WAIT)
    queue.put_nowait(message(1))  # the peer keeps up: it would be written directly
    await drained(queue)
    await settle()
    assert ws.log == ["close"]


async def test_ending_twice_closes_once(queue, ws, server):
    queue.end()
    queue.end()
    queue.put_nowait(None)
    await drained(queue)
    await settle()
    assert ws.closes == 1


# ---------------------------------------------------------------------------- the peer is gone


async def test_peer_gone_discards_the_backlog_and_join_returns(queue, ws):
    ws.fall_behind()
    for n in range(4):
        queue.put_nowait(message(n))
    queue.end()
    await settle()
    ws.vanish()
    await drained(queue)
    assert queue.qsize() == 0
    assert ws.log == [], "nothing is written to, or closed on, a peer that is gone"


async def test_packets_put_after_the_peer_is_gone_are_discarded_too(queue, ws):
    ws.fall_behind()
    queue.put_nowait(message(1))
    await settle()
    ws.vanish()
    await drained(queue)
    queue.put_nowait(message(2))
    await drained(queue)
    assert queue.qsize() == 0 and ws.written == []


# ---------------------------------------------------------------------------- detach


async def test_detach_discards_what_is_queued_and_drops_later_puts(queue, ws):
    ws.fall_behind()
    for n in range(3):
        queue.put_nowait(message(n))
    await settle()
    queue.detach()
    assert queue.qsize() == 0
    await drained(queue)
    queue.put_nowait(message(7))
    queue.put_nowait(None)
    queue.end()
    assert queue.qsize() == 0
    ws.catch_up()  # a flusher still waiting must not write anything now
    await settle()
    assert ws.log == []
    await drained(queue)


async def test_detach_while_idle_drops_later_puts_that_could_be_written(queue, ws):
    queue.detach()
    queue.put_nowait(message(1))
    await settle()
    assert ws.log == [] and queue.qsize() == 0


# ---------------------------------------------------------------------------- bounds


async def test_typing_is_dropped_once_the_backlog_reaches_the_soft_limit(queue, ws, server):
    ws.fall_behind()
    kept = [message(n) for n in range(SOFT - 1)]
    for pkt in kept:
        queue.put_nowait(pkt)
    typing_kept = typing(1)
    queue.put_nowait(typing_kept)  # the backlog is below the soft limit: queued
    assert queue.qsize() == SOFT
    queue.put_nowait(typing(2))  # at the soft limit: dropped
    assert queue.qsize() == SOFT
    after = message(99)
    queue.put_nowait(after)  # any other event still goes in
    assert queue.qsize() == SOFT + 1
    ws.catch_up()
    await drained(queue)
    assert ws.written == [*kept, typing_kept, after]
    assert not queue.overflowed and server.started == []


async def test_typing_is_written_when_the_peer_keeps_up(queue, ws):
    pkt = typing(1)
    queue.put_nowait(pkt)
    assert ws.written == [pkt]


async def test_overflow_past_the_limit_closes_the_connection(queue, ws, server):
    ws.fall_behind()
    for n in range(LIMIT):
        queue.put_nowait(message(n))
    await settle()
    assert queue.qsize() == LIMIT and not queue.overflowed and server.started == []

    queue.put_nowait(message(LIMIT))  # one past the limit
    assert queue.overflowed
    socket = server.sockets["eio-sid"]
    assert server.started == [(server.close_stalled, (socket,))]
    assert queue.qsize() == 1, "the backlog is discarded; only the close marker waits"
    queue.put_nowait(message(LIMIT + 1))  # nothing more goes in
    assert queue.qsize() == 1

    ws.catch_up()
    await drained(queue)
    assert ws.log == ["close"], "the discarded backlog is never written; the socket is closed"


async def test_exactly_limit_packets_may_wait(queue, ws, server):
    ws.fall_behind()
    for n in range(LIMIT):
        queue.put_nowait(message(n))
    assert not queue.overflowed and queue.qsize() == LIMIT
    ws.catch_up()
    await drained(queue)
    assert len(ws.written) == LIMIT and server.started == []


# ---------------------------------------------------------------------------- polling mode


async def test_polling_get_is_a_future_resolved_by_put(server):
    queue = SendQueue(server, LIMIT)
    waiter = queue.get()
    assert isinstance(waiter, asyncio.Future) and not waiter.done()
    pkt = message(1)
    queue.put_nowait(pkt)
    assert await asyncio.wait_for(waiter, WAIT) is pkt
    queue.task_done()
    ready = message(2)
    queue.put_nowait(ready)
    assert await asyncio.wait_for(queue.get(), WAIT) is ready


async def test_polling_waiter_that_timed_out_is_skipped(server):
    queue = SendQueue(server, LIMIT)
    abandoned = queue.get()
    abandoned.cancel()
    waiting = queue.get()
    pkt = message(1)
    queue.put_nowait(pkt)
    assert await asyncio.wait_for(waiting, WAIT) is pkt
    assert queue.qsize() == 0


async def test_polling_join_waits_until_every_packet_taken_is_done(server):
    """engine.io closes a polling session with `queue.join()`; the event it waits on is
    made only then."""
    queue = SendQueue(server, LIMIT)
    await asyncio.wait_for(queue.join(), WAIT)  # nothing put: done at once
    queue.put_nowait(message(1))
    queue.put_nowait(message(2))
    joined = asyncio.ensure_future(queue.join())
    await settle()
    assert not joined.done()
    await asyncio.wait_for(queue.get(), WAIT)
    queue.task_done()
    await settle()
    assert not joined.done()  # one still not done
    await asyncio.wait_for(queue.get(), WAIT)
    queue.task_done()
    await asyncio.wait_for(joined, WAIT)
    queue.put_nowait(message(3))  # and again, after a join
    again = asyncio.ensure_future(queue.join())
    await settle()
    assert not again.done()
    await asyncio.wait_for(queue.get(), WAIT)
    queue.task_done()
    await asyncio.wait_for(again, WAIT)


async def test_awaited_puts_never_wait_and_many_polls_wait_in_order(server):
    """asyncio.Queue's own waiter lists are never used (shared, always empty)."""
    queue = SendQueue(server, 10_000)
    for n in range(1000):
        await queue.put(message(n))  # unbounded for asyncio: never waits
    assert queue.qsize() == 1000
    other = SendQueue(server, LIMIT)
    polls = [other.get() for _ in range(3)]
    packets = [message(n) for n in range(3)]
    for pkt in packets:
        other.put_nowait(pkt)
    assert [await asyncio.wait_for(poll, WAIT) for poll in polls] == packets
