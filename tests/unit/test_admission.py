"""HandshakeGate: at most `limit` handshake steps (opening a websocket session, handling a
Socket.IO CONNECT) at once; a slot comes back when its step is done, when the connection
ends, or at the deadline."""

from __future__ import annotations

import asyncio

from sharemyshows_rt.transport.admission import SCOPE_KEY, HandshakeGate, opened

WAIT = 2.0


def websocket_scope(query: bytes = b"EIO=4&transport=websocket") -> dict:
    return {"type": "websocket", "path": "/socket.io/", "query_string": query}


class App:
    """An ASGI app that records the scopes it got and runs until the test lets it end."""

    def __init__(self) -> None:
        self.scopes: list[dict] = []
        self.running = 0
        self.end = asyncio.Event()

    async def __call__(self, scope, receive, send) -> None:
        self.scopes.append(scope)
        self.running += 1
        try:
            await self.end.wait()
        finally:
            self.running -= 1


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_at_most_limit_sessions_open_at_once_and_opened_lets_the_next_in():
    app = App()
    gated = HandshakeGate(2, deadline=60).wrap(app, "/socket.io")
    calls = [asyncio.create_task(gated(websocket_scope(), None, None)) for _ in range(3)]
    await settle()
    assert app.running == 2
    opened({"asgi.scope": app.scopes[0]})
    opened({"asgi.scope": app.scopes[0]})  # twice: still one slot back
    await settle()
    assert app.running == 3 and SCOPE_KEY not in app.scopes[0]
    app.end.set()
    await asyncio.wait_for(asyncio.gather(*calls), WAIT)


async def test_a_connection_that_ends_gives_its_slot_back():
    app = App()
    gated = HandshakeGate(1, deadline=60).wrap(app, "/socket.io")
    first = asyncio.create_task(gated(websocket_scope(), None, None))
    second = asyncio.create_task(gated(websocket_scope(), None, None))
    await settle()
    assert app.running == 1
    first.cancel()  # the connection went away mid-handshake
    await settle()
    assert app.running == 1 and len(app.scopes) == 2
    app.end.set()
    await asyncio.wait_for(second, WAIT)


async def test_a_handshake_that_never_finishes_loses_its_slot_at_the_deadline():
    app = App()
    gated = HandshakeGate(1, deadline=0.05).wrap(app, "/socket.io")
    calls = [asyncio.create_task(gated(websocket_scope(), None, None)) for _ in range(2)]
    await settle()
    assert app.running == 1
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while app.running < 2 and loop.time() < deadline:
        await asyncio.sleep(0.01)
    assert app.running == 2
    app.end.set()
    await asyncio.wait_for(asyncio.gather(*calls), WAIT)


async def test_http_upgrades_of_a_session_and_other_paths_are_not_gated():
    app = App()
    gated = HandshakeGate(1, deadline=60).wrap(app, "/socket.io")
    hold = asyncio.create_task(gated(websocket_scope(), None, None))  # takes the one slot
    others = [
        {"type": "http", "path": "/socket.io/", "query_string": b"EIO=4"},
        {"type": "lifespan"},
        websocket_scope(b"EIO=4&transport=websocket&sid=abc"),
        {"type": "websocket", "path": "/elsewhere", "query_string": b""},
    ]
    calls = [asyncio.create_task(gated(scope, None, None)) for scope in others]
    await settle()
    assert app.running == 5
    app.end.set()
    await asyncio.wait_for(asyncio.gather(hold, *calls), WAIT)


async def test_connect_steps_share_the_slots_and_give_them_back():
    app = App()
    gate = HandshakeGate(1, deadline=60)
    gated = gate.wrap(app, "/socket.io")
    opening = asyncio.create_task(gated(websocket_scope(), None, None))  # holds the slot
    await settle()
    entered = asyncio.Event()

    async def connect_step() -> None:
        async with gate.step():
            entered.set()

    step = asyncio.create_task(connect_step())
    await settle()
    assert not entered.is_set(), "a step ran while every slot was taken"
    opened({"asgi.scope": app.scopes[0]})
    await asyncio.wait_for(step, WAIT)
    async with gate.step():  # the step gave its slot back
        pass
    app.end.set()
    await asyncio.wait_for(opening, WAIT)


async def test_a_released_slot_holds_nothing():
    """The gate's coroutine keeps its slot for the connection's life: once given back it
    keeps neither the semaphore nor its deadline timer."""
    gate, app = HandshakeGate(2), App()
    gated = gate.wrap(app, "/socket.io/")
    task = asyncio.ensure_future(gated(websocket_scope(), None, None))
    await settle()
    slot = app.scopes[0][SCOPE_KEY]
    opened({"asgi.scope": app.scopes[0]})
    assert slot._slots is None and slot._timer is None
    slot.release()  # again: nothing happens
    app.end.set()
    await asyncio.wait_for(task, WAIT)
