"""Closing a websocket (websocket.py): a peer that never answers the close is reset after
`timeout`, and only such a peer: a connection that has ended keeps no timer, so nothing holds
its objects once it is closed."""

from __future__ import annotations

import asyncio
import gc
import weakref

from support.fake_websocket import WAIT, websocket

from sharemyshows_rt.transport.websocket import Outbox


def quick_websocket():
    ws, protocol = websocket(Outbox())
    type(ws).timeout = 0.05  # its own subclass: only this test's websockets
    return ws, protocol


async def test_a_connection_the_peer_closed_keeps_no_timer_and_is_freed_at_once():
    ws, protocol = websocket(Outbox())
    protocol.disconnected = True  # the peer closed first; the reader saw the disconnect
    await asyncio.wait_for(ws.close(), WAIT)
    freed = weakref.ref(ws)
    gc.disable()
    try:
        del ws
        assert freed() is None, "something still holds the closed websocket"
    finally:
        gc.enable()


async def test_a_close_answered_at_once_keeps_no_timer():
    ws, protocol = websocket(Outbox())
    protocol.transport.close()  # the close handshake is done: closing, nothing left to send
    await asyncio.wait_for(ws.close(), WAIT)
    assert ws._abort_timer is None
    assert ("abort",) not in protocol.log


async def test_an_unanswered_close_is_reset_after_the_timeout():
    ws, protocol = quick_websocket()
    await asyncio.wait_for(ws.close(), WAIT)
    assert ws._abort_timer is not None
    assert ("asgi", "websocket.close") in protocol.log

    async def reset() -> None:
        while ("abort",) not in protocol.log:
            await asyncio.sleep(0.01)

    await asyncio.wait_for(reset(), WAIT)
    assert ws._abort_timer is None


async def test_a_peer_that_stops_reading_is_reset_even_though_closing():
    ws, protocol = quick_websocket()
    protocol.transport.close()
    protocol.transport.buffered = 4096  # the close frame and more, never read
    await asyncio.wait_for(ws.close(), WAIT)
    assert ws._abort_timer is not None


async def test_the_timer_goes_once_the_peer_answers():
    ws, protocol = quick_websocket()
    await asyncio.wait_for(ws.close(), WAIT)
    timer = ws._abort_timer
    assert timer is not None
    protocol.disconnected = True  # the peer's close arrived; the reader ends and closes too
    await asyncio.wait_for(ws.close(), WAIT)
    assert ws._abort_timer is None and timer.cancelled()


async def test_closing_twice_sends_one_close():
    ws, protocol = websocket(Outbox())
    await asyncio.wait_for(ws.close(), WAIT)
    await asyncio.wait_for(ws.close(), WAIT)
    assert protocol.log.count(("asgi", "websocket.close")) == 1
    ws._abort_timer.cancel()
