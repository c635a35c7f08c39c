"""Engine.IO sockets whose websocket costs no task per packet.

python-engineio keeps, per websocket connection, a writer task fed by a queue, a reader that
starts one more task and one timer for every packet it receives, and a sleeping task per
heartbeat. Here a packet is written to the transport when it is sent (the queue only holds
what the peer is not ready for, see `backpressure.SendQueue`), heartbeats are timers, the
reader is a plain loop, and one monitor checks every socket's heartbeat once a second: the
same protocol for a fraction of the CPU and memory per connection."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from engineio import async_socket, exceptions, packet

log = logging.getLogger(__name__)


class EngineSocket(async_socket.AsyncSocket):
    """One Engine.IO session; on the websocket transport, it reads and writes directly."""

    websocket: Any = None  # the AbortingWebSocket while one serves this session
    _ping_timer: asyncio.TimerHandle | None = None

    def schedule_ping(self) -> None:
        # Only after the previous ping was answered (engine.io's rule), as a timer.
        if self.last_ping:
            self.last_ping = None
            self._ping_timer = asyncio.get_running_loop().call_later(
                self.server.ping_interval, self._ping
            )

    def _ping(self) -> None:
        self._ping_timer = None
        if not self.closing and not self.closed:
            self.last_ping = time.time()
            self.queue.put_nowait(packet.Packet(packet.PING))

    async def close(self, wait: bool = True, abort: bool = False, reason: Any = None) -> None:
        """Close the session, and with it its websocket: engine.io would leave that open
        until the peer closes it or its reader times out."""
        await super().close(wait=wait, abort=abort, reason=reason)
        if self._ping_timer is not None:
            self._ping_timer.cancel()
            self._ping_timer = None
        if self.websocket is not None:
            self.queue.end()

    async def receive(self, pkt: packet.Packet) -> None:
        """engine.io's, but a message goes straight to python-socketio's handler, in order
        (engine.io's generic path builds a closure and checks the handler's kind for each)."""
        if pkt.packet_type == packet.MESSAGE and not self.server.async_handlers:
            handler = self.server.handlers.get("message")
            if handler is not None:
                try:
                    await handler(self.sid, pkt.data)
                except Exception:
                    log.exception("engine.io session %s: handling a message failed", self.sid)
                return
        await super().receive(pkt)

    async def _websocket_handler(self, ws: Any) -> None:
        if not ws.frames_directly:
            return await super()._websocket_handler(ws)
        if self.connected and not await self._upgrade(ws):
            return None
        self.connected = self.upgraded = True
        self.queue.attach(ws)
        try:
            while True:
                pkt = await self._next_packet(ws)
                if pkt is None:
                    break
                try:
                    await self.receive(pkt)
                except exceptions.UnknownPacketError:
                    pass
                except exceptions.SocketIsClosedError:
                    break
                except Exception:
                    log.exception("engine.io session %s: a received packet failed", self.sid)
        finally:
            self.queue.detach()
        await ws.close()
        await self.close(wait=False, abort=True, reason=self.server.reason.TRANSPORT_CLOSE)
        return None

    async def _upgrade(self, ws: Any) -> bool:
        """The polling-to-websocket upgrade: ping "probe", pong "probe", then upgrade."""
        self.upgrading = True  # hold packet sends during the upgrade
        try:
            pkt = await self._next_packet(ws)
            if pkt is None or pkt.packet_type != packet.PING or pkt.data != "probe":
                log.info("engine.io session %s: failed websocket upgrade, no probe", self.sid)
                return False
            await ws.send(packet.Packet(packet.PONG, data="probe").encode())
            await self.queue.put(packet.Packet(packet.NOOP))  # ends the pending poll
            pkt = await self._next_packet(ws)
            if pkt is None or pkt.packet_type != packet.UPGRADE:
                log.info(
                    "engine.io session %s: failed websocket upgrade, no upgrade packet", self.sid
                )
                return False
            return True
        finally:
            self.upgrading = False

    async def _next_packet(self, ws: Any) -> packet.Packet | None:
        """The next packet from the peer; None when the connection is over (closed, or the
        peer sent something that is not an engine.io packet or is too large)."""
        event = await ws.asgi_receive()
        if event["type"] != "websocket.receive":
            return None
        data = event.get("text")
        if data is None:
            data = event.get("bytes")
        if data is None:
            return None
        if len(data) > self.server.max_http_buffer_size:
            log.info(
                "engine.io session %s: closed, a packet of %d bytes is too large",
                self.sid,
                len(data),
            )
            return None
        try:
            return packet.Packet(encoded_packet=data)
        except Exception as exc:
            log.info("engine.io session %s: closed, an undecodable packet: %r", self.sid, exc)
            return None


async def monitor_heartbeats(server: Any) -> None:
    """engine.io's service task, for all sockets at once a few times per heartbeat timeout:
    close the sessions whose peer missed a heartbeat and forget the closed ones (engine.io's
    own waits a timer and a task per socket in turn)."""
    server.service_task_event = server.create_event()
    every = min(5.0, max(0.25, server.ping_timeout / 4))
    while not server.service_task_event.is_set():
        try:
            await asyncio.wait_for(server.service_task_event.wait(), timeout=every)
            break
        except TimeoutError:
            pass
        now = time.time()
        for sid, socket in list(server.sockets.items()):
            if socket.closed:
                server.sockets.pop(sid, None)
            elif (
                not socket.closing
                and socket.last_ping
                and now - socket.last_ping > server.ping_timeout
            ):
                try:
                    await socket.check_ping_timeout()
                except Exception:
                    log.exception(
                        "closing engine.io session %s after a missed heartbeat failed", sid
                    )
