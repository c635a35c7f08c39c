"""Heartbeats: a peer that completes both handshakes and keeps reading, but never answers
an Engine.IO ping, is gone as far as the protocol is concerned. The server must close its
TCP connection within ping_interval + ping_timeout and a few seconds (the heartbeat monitor
looks once a second; a close the peer does not answer is cut off after the send timeout,
which is ping_timeout), its user must leave the show, and a peer that does answer must be
left alone.

The mute peer speaks WebSocket by hand over a plain TCP stream: after the handshakes it
writes nothing more at all (no pong, no reply to a close frame), so only the server can
end the connection."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import struct
from urllib.parse import urlsplit

from support.client import about, for_show
from support.expect import active_user_ids
from support.settings import TIMEOUT

PING_INTERVAL = 1.0
PING_TIMEOUT = 1.0
# The monitor's period (1 s), the abort of an unanswered close (send timeout = ping_timeout)
# and scheduling slack.
SLACK = 4.0
DEADLINE = PING_INTERVAL + PING_TIMEOUT + SLACK
WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, CLOSE = 0x1, 0x8


def client_frame(text: str) -> bytes:
    """A masked text frame (RFC 6455 5.2: a client masks every frame)."""
    payload = text.encode()
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x81, 0x80 | size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x81, 0x80 | 126, size)
    else:
        header = struct.pack("!BBQ", 0x81, 0x80 | 127, size)
    mask = os.urandom(4)
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class MutePeer:
    """A WebSocket peer over a raw TCP stream that reads every frame the server sends and
    writes only what the test sends: never a pong, never a close reply."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.frames: list[tuple[float, int, str]] = []  # (loop time, opcode, text)
        self.ended_at: float | None = None
        self.ended_by = ""
        self._reading: asyncio.Task | None = None

    @classmethod
    async def open(cls, base_url: str) -> MutePeer:
        url = urlsplit(base_url)
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(url.hostname, url.port), TIMEOUT
        )
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
                f"Host: {url.hostname}:{url.port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                f"Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)).decode()
        status, *lines = head.split("\r\n")
        assert status.startswith("HTTP/1.1 101"), f"no websocket upgrade: {head!r}"
        headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in lines if line)
        }
        accept = base64.b64encode(hashlib.sha1((key + WEBSOCKET_GUID).encode()).digest()).decode()
        assert headers.get("sec-websocket-accept") == accept, head
        return cls(reader, writer)

    @property
    def local_port(self) -> int:
        return self.writer.get_extra_info("sockname")[1]

    def send(self, text: str) -> None:
        self.writer.write(client_frame(text))

    async def _frame(self) -> tuple[int, str]:
        first, second = await self.reader.readexactly(2)
        assert first & 0x80, "the server fragmented a frame"
        assert not second & 0x80, "a server frame must not be masked"
        size = second & 0x7F
        if size == 126:
            size = struct.unpack("!H", await self.reader.readexactly(2))[0]
        elif size == 127:
            size = struct.unpack("!Q", await self.reader.readexactly(8))[0]
        payload = await self.reader.readexactly(size)
        opcode = first & 0x0F
        text = payload.decode() if opcode == TEXT else payload.hex()
        self.frames.append((asyncio.get_running_loop().time(), opcode, text))
        return opcode, text

    async def next_text(self, condition=lambda _text: True, timeout: float = TIMEOUT) -> str:
        """Read frames until a text frame matching `condition` (the others are recorded)."""

        async def find() -> str:
            while True:
                opcode, text = await self._frame()
                if opcode == TEXT and condition(text):
                    return text

        return await asyncio.wait_for(find(), timeout)

    async def handshake(self, token: str) -> str:
        """Engine.IO open, then the Socket.IO CONNECT with the token; the Socket.IO sid."""
        opening = await self.next_text()
        assert opening.startswith("0{"), f"expected the Engine.IO open packet: {opening!r}"
        self.send("40" + json.dumps({"token": token}))
        connected = await self.next_text(lambda text: text[:2] in ("40", "44"))
        assert connected.startswith("40{"), f"the Socket.IO connect was refused: {connected!r}"
        return json.loads(connected[2:])["sid"]

    def keep_reading(self) -> None:
        """From now on read (and record) everything, in the background, until the end."""
        self._reading = asyncio.ensure_future(self._read_to_the_end())

    async def _read_to_the_end(self) -> None:
        try:
            while True:
                await self._frame()
        except asyncio.IncompleteReadError:
            self.ended_by = "end of stream"
        except ConnectionError as exc:
            self.ended_by = type(exc).__name__
        self.ended_at = asyncio.get_running_loop().time()

    async def wait_ended(self, timeout: float) -> None:
        assert self._reading is not None
        await asyncio.wait_for(asyncio.shield(self._reading), timeout)

    def texts(self, text: str) -> list[float]:
        """When each text frame equal to `text` arrived."""
        return [at for at, opcode, body in self.frames if opcode == TEXT and body == text]

    async def close(self) -> None:
        if self._reading is not None and not self._reading.done():
            self._reading.cancel()
        self.writer.transport.abort()
        try:
            await asyncio.wait_for(self.writer.wait_closed(), 1)
        except (TimeoutError, ConnectionError, OSError):
            pass


async def test_peer_that_never_answers_pings_is_disconnected(launch):
    rig = await launch(PING_INTERVAL=PING_INTERVAL, PING_TIMEOUT=PING_TIMEOUT)
    show = rig.db.add_show()
    mute_user, watcher_user = rig.db.add_user(), rig.db.add_user()
    # The watcher is a real Socket.IO client: it answers every ping.
    watcher = await rig.connect(watcher_user)
    await watcher.join(show.id)
    loop = asyncio.get_running_loop()

    mute = await MutePeer.open(rig.base_url)
    try:
        await mute.handshake(rig.tokens.access(mute_user.id))
        connected_at = loop.time()
        mute.send("42" + json.dumps(["join_show", {"show_id": show.id}]))
        await mute.next_text(lambda text: text.startswith('42["active_users"'))
        await watcher.wait_for("user_joined", about(mute_user))
        client_port = mute.local_port
        mute.keep_reading()

        try:
            await mute.wait_ended(connected_at + DEADLINE - loop.time())
        except TimeoutError:
            raise AssertionError(
                f"the server kept the connection of a peer that answered no ping for "
                f"{DEADLINE}s (ping_interval {PING_INTERVAL}s + ping_timeout {PING_TIMEOUT}s + "
                f"{SLACK}s); pings sent: {len(mute.texts('2'))}; frames: "
                f"{[(opcode, text[:40]) for _at, opcode, text in mute.frames]}"
            ) from None
        pings = mute.texts("2")
        assert len(pings) == 1, f"one ping, and no other until it is answered: {len(pings)} pings"
        assert mute.ended_at - pings[0] >= PING_TIMEOUT - 0.1, (
            f"closed {mute.ended_at - pings[0]:.2f}s after the ping, before ping_timeout "
            f"({PING_TIMEOUT}s) ran out"
        )
    finally:
        await mute.close()

    await watcher.wait_for("user_left", about(mute_user))
    # The peer that answers its pings is still connected and served (a barrier too).
    active = await watcher.active_users(show.id)
    assert active_user_ids(active) == [watcher_user.id]
    assert watcher.connected and not watcher.received("disconnect")

    deadline = loop.time() + TIMEOUT
    while rig.holds_connection_from(client_port) and loop.time() < deadline:
        await asyncio.sleep(0.05)
    assert not rig.holds_connection_from(client_port), (
        "the server still holds the TCP connection of the peer it disconnected"
    )


async def test_peer_answering_pings_outlives_the_deadline(launch):
    """The control: the same raw peer, answering each ping, is not disconnected."""
    rig = await launch(PING_INTERVAL=PING_INTERVAL, PING_TIMEOUT=PING_TIMEOUT)
    show = rig.db.add_show()
    user = rig.db.add_user()
    loop = asyncio.get_running_loop()
    peer = await MutePeer.open(rig.base_url)
    try:
        await peer.handshake(rig.tokens.access(user.id))
        until = loop.time() + DEADLINE + 1
        answered = 0
        while loop.time() < until:
            try:
                await peer.next_text(lambda text: text == "2", timeout=until - loop.time())
            except TimeoutError:
                break
            peer.send("3")
            answered += 1
        assert answered >= 2, f"expected a ping every {PING_INTERVAL}s: {answered} answered"
        peer.send("42" + json.dumps(["join_show", {"show_id": show.id}]))
        active = await peer.next_text(lambda text: text.startswith('42["active_users"'))
        payload = json.loads(active[2:])[1]
        assert for_show(show.id)(payload) and user.id in active_user_ids(payload), (
            "the peer that answered every ping is still connected and served"
        )
    finally:
        await peer.close()


async def test_handshake_announces_the_heartbeat_the_server_uses(launch, http_for):
    """Clients time out by the announced pingInterval + pingTimeout: it must be what the
    server does (PING_INTERVAL is whole seconds: a fraction is refused at start-up)."""
    rig = await launch(PING_INTERVAL=2, PING_TIMEOUT=1.5)
    async with http_for(rig) as http:
        opened = await http.get("/socket.io/", params={"EIO": "4", "transport": "polling"})
        assert opened.status_code == 200 and opened.text.startswith("0{"), opened.text
        handshake = json.loads(opened.text[1:])
        await http.post(
            "/socket.io/",
            content="1",
            params={"EIO": "4", "transport": "polling", "sid": handshake["sid"]},
        )
    assert (handshake["pingInterval"], handshake["pingTimeout"]) == (2000, 1500), handshake
