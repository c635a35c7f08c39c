"""When the database stops answering under a running server: /readyz says so, /healthz does
not, and chat events get `Service unavailable` on a connection that stays open. The server
reaches PostgreSQL through a TCP relay of the test's own, which the test then cuts."""

import asyncio
import secrets

import httpx
import pytest
from sqlalchemy.engine import make_url
from support.client import ChatClient
from support.database import Database
from support.expect import assert_error
from support.rigs import migrated_postgres
from support.server import ServerProcess
from support.settings import HOST, TIMEOUT, clean_environment
from support.tokens import Tokens


class Relay:
    """A TCP relay to (host, port); `cut()` drops every connection and refuses new ones."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._relay, HOST, 0)
        return self.server.sockets[0].getsockname()[1]

    async def _relay(self, reader, writer) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        self.writers += [writer, upstream_writer]
        await asyncio.gather(
            self._pipe(reader, upstream_writer),
            self._pipe(upstream_reader, writer),
            return_exceptions=True,
        )

    @staticmethod
    async def _pipe(reader, writer) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

    def cut(self) -> None:
        self.server.close()
        for writer in self.writers:
            writer.transport.abort()


@pytest.fixture
async def relayed_server(postgres_admin_url, tmp_path):
    """A server whose database is behind a Relay: (server, db, tokens, relay)."""
    with migrated_postgres(postgres_admin_url) as urls:
        secret = secrets.token_urlsafe(48)
        direct = make_url(urls.server)
        relay = Relay(direct.host or HOST, direct.port or 5432)
        relayed = direct.set(host=HOST, port=await relay.start())
        env = clean_environment(
            DATABASE_URL=relayed.render_as_string(hide_password=False),
            JWT_SECRET_KEY=secret,
            DB_TIMEOUT="2",
            SHUTDOWN_GRACE="1",
        )
        server = ServerProcess(env, tmp_path / "server.log")
        db = Database(urls.tests)
        try:
            await asyncio.to_thread(server.start)  # the relay needs this loop meanwhile
            yield server, db, Tokens(secret), relay
        finally:
            relay.cut()
            await asyncio.to_thread(server.stop)
            db.dispose()


async def test_readyz_and_events_when_the_database_stops_answering(relayed_server):
    server, db, tokens, relay = relayed_server
    fan, show = db.add_user(), db.add_show()
    client = ChatClient(server.base_url)
    try:
        await client.connect(auth=tokens.access(fan.id))
        await client.join(show.id)
        async with httpx.AsyncClient(base_url=server.base_url, timeout=3 * TIMEOUT) as http:
            assert (await http.get("/readyz")).status_code == 200
            relay.cut()
            readyz = await http.get("/readyz")
            assert readyz.status_code == 503
            assert readyz.headers["content-type"].startswith("application/json")
            assert (await http.get("/healthz")).status_code == 200

        ack = await client.call(
            "send_message", {"show_id": show.id, "message": "anyone?"}, timeout=3 * TIMEOUT
        )
        assert ack["ok"] is False and ack["error"]["message"] == "Service unavailable", ack
        assert_error(
            await client.wait_for("error"), event="send_message", message="Service unavailable"
        )
        assert (await client.call("typing", {"show_id": show.id, "is_typing": True}))["ok"] is True
        assert client.connected and server.alive()
    finally:
        await client.close()
