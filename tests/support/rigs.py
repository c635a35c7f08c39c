"""Dedicated servers for the reliability tests: each a real `serve` process with settings of
its own (lowered limits, a database behind a proxy), started and stopped without blocking
the test's event loop, so that a proxy or a client in that loop keeps working meanwhile."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import text

from .client import ChatClient
from .database import Database, DatabaseUrls, Show, backend_urls, fresh_postgres
from .server import ServerProcess, ShowsLogs, run_cli, tail
from .settings import TIMEOUT, clean_environment
from .tokens import Tokens

# Rate limits out of the way, for tests that need many messages fast.
ROOMY = {
    "SEND_RATE": 100_000,
    "SEND_BURST": 100_000,
    "EVENTS_PER_SECOND": 100_000,
    "TYPING_RATE": 100_000,
    "SEND_RATE_USER": 100_000,
    "SEND_BURST_USER": 100_000,
}


def rig_environment(database_url: str, secret: str, **settings: object) -> dict[str, str]:
    """A server's environment: the database, the secret, `settings` and nothing inherited."""
    env = clean_environment(DATABASE_URL=database_url, JWT_SECRET_KEY=secret)
    env.update({name.upper(): str(value) for name, value in settings.items()})
    return env


class RigClient(ChatClient):
    """ChatClient whose polite close is prompt on the polling transport too.

    python-engineio's client (4.x) ends its write loop, without posting what is queued, when
    it finds itself disconnecting after a POST: a goodbye queued while a POST is in flight
    (say, the connect packet's, whose answer can come after the GET that carried
    `connected`) is never sent, and the close waits for the long poll (ping interval,
    25 s). Waiting until nothing is in flight avoids it."""

    async def close(self) -> None:
        if self.transport == "polling" and self.sio.connected:
            try:
                await asyncio.wait_for(self.sio.eio.queue.join(), TIMEOUT)
            except (TimeoutError, AttributeError):
                pass
        await super().close()


@dataclass
class Rig(ShowsLogs):
    """A running server, the tests' view of its database, and its tokens."""

    server: ServerProcess
    db: Database
    tokens: Tokens
    urls: DatabaseUrls
    clients: list = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def pid(self) -> int:
        assert self.server.process is not None
        return self.server.process.pid

    async def start(self) -> Rig:
        await asyncio.to_thread(self.server.start)
        return self

    async def stop(self) -> None:
        await asyncio.gather(*(client.close() for client in self.clients), return_exceptions=True)
        await asyncio.to_thread(self.server.stop)

    def client(self, transport: str = "websocket") -> ChatClient:
        """An unconnected client, closed when the rig stops."""
        made = RigClient(self.base_url, transport=transport)
        self.clients.append(made)
        return made

    async def connect(
        self, user, *, transport: str = "websocket", headers: dict | None = None
    ) -> ChatClient:
        made = self.client(transport)
        await made.connect(auth=self.tokens.access(user.id), headers=headers)
        return made

    def server_logs(self) -> list[tuple[str, str]]:
        return [(f"server {self.base_url} log (last 40 lines)", tail(self.server.log_path, 40))]

    def rss_kib(self) -> int:
        """The server process's resident memory (VmRSS), in KiB."""
        return resident_kib(self.pid)

    async def wait_for_log(self, text: str, timeout: float = TIMEOUT) -> str:
        """The first line of the server's log containing `text`, polled with a deadline."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            lines = [line for line in self.server.log().splitlines() if text in line]
            if lines:
                return lines[0]
            assert loop.time() < deadline, f"no log line with {text!r} within {timeout}s"
            await asyncio.sleep(0.02)

    def holds_connection_from(self, client_port: int) -> bool:
        """True while the server has a TCP connection from that client port still open
        (any state but TIME_WAIT/CLOSE), per the kernel's table."""
        return any(
            state not in ("06", "07")  # TIME_WAIT, CLOSE
            for state in tcp_states(self.server.port, client_port)
        )

    def terminate(self) -> None:
        """SIGTERM to the server process alone, as an orchestrator sends it."""
        os.kill(self.pid, signal.SIGTERM)

    async def exit_code(self, timeout: float) -> int | None:
        """The server's exit status once it has exited, polled for at most `timeout`."""
        assert self.server.process is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.server.process.poll() is None and loop.time() < deadline:
            await asyncio.sleep(0.02)
        return self.server.process.poll()


async def one_test_on(rig: Rig) -> AsyncIterator[Rig]:
    """A rig shared between tests, for one test: the clients that test made on it are
    closed afterwards, and the server must have survived it."""
    before = len(rig.clients)
    yield rig
    made, rig.clients[before:] = rig.clients[before:], []
    await asyncio.gather(*(client.close() for client in made), return_exceptions=True)
    assert rig.server.alive(), f"the server died during the test:\n{tail(rig.server.log_path)}"


async def rig_on_backend(
    request, tmp_path_factory, name: str, **settings: object
) -> AsyncIterator[Rig]:
    """A server with these settings on `request.param` ("sqlite" or "postgresql"), for a
    module's tests: use as `async for rig in rig_on_backend(...)` in a module fixture."""
    backend = request.param
    workdir = tmp_path_factory.mktemp(f"{name}-{backend}")
    with ExitStack() as cleanup:
        urls = backend_urls(request, backend, workdir, cleanup)
        if backend == "postgresql":
            migrate(urls)
        rig = make_rig(urls, workdir / "server.log", **settings)
        cleanup.callback(rig.db.dispose)
        try:
            yield await rig.start()
        finally:
            await rig.stop()


def rig_fixtures(name: str, **settings: object) -> tuple:
    """A test module's `rig`: a server with these settings per backend (SQLite and
    PostgreSQL), shared by the module's tests, each test's clients closed after it. Use as
    `shared_rig, rig = rig_fixtures("name", SETTING=value)` at the module's top level."""

    @pytest.fixture(scope="module", params=["sqlite", "postgresql"], name="shared_rig")
    async def shared(request, tmp_path_factory) -> AsyncIterator[Rig]:
        async for rig in rig_on_backend(request, tmp_path_factory, name, **settings):
            yield rig

    @pytest.fixture(name="rig")
    async def per_test(shared_rig) -> AsyncIterator[Rig]:
        async for made in one_test_on(shared_rig):
            yield made

    return shared, per_test


def migrate(urls: DatabaseUrls) -> None:
    """`sharemyshows-rt migrate` on that database."""
    migrated = run_cli("migrate", env=rig_environment(urls.server, "migrate-only"))
    assert migrated.returncode == 0, f"migrate failed:\n{migrated.stderr}"


@contextmanager
def migrated_postgres(admin_url: str) -> Iterator[DatabaseUrls]:
    """A fresh database on the server `admin_url` points at, migrated, dropped afterwards."""
    with fresh_postgres(admin_url) as urls:
        migrate(urls)
        yield urls


@contextmanager
def seeding(urls: DatabaseUrls) -> Iterator[Database]:
    """The tests' view of that database, disposed of afterwards."""
    db = Database(urls.tests)
    try:
        yield db
    finally:
        db.dispose()


class Launcher(ShowsLogs):
    """launch(**settings): a started dedicated server on the suite's database; `urls`/`db`
    pick another database. Every server it started is stopped by `stop_all`."""

    def __init__(self, urls: DatabaseUrls, db: Database, workdir: Path) -> None:
        self._urls = urls
        self._db = db
        self._workdir = workdir
        self.rigs: list[Rig] = []

    async def __call__(
        self,
        *,
        urls: DatabaseUrls | None = None,
        db: Database | None = None,
        database_url: str | None = None,
        **settings: object,
    ) -> Rig:
        log = self._workdir / f"server-{len(self.rigs)}.log"
        rig = make_rig(
            urls or self._urls,
            log,
            db=db or (None if urls else self._db),
            database_url=database_url,
            **settings,
        )
        self.rigs.append(rig)
        return await rig.start()

    async def stop_all(self) -> None:
        for rig in self.rigs:
            await rig.stop()
            if rig.db is not self._db:
                rig.db.dispose()

    def server_logs(self) -> list[tuple[str, str]]:
        return [section for rig in self.rigs for section in rig.server_logs()]


def make_rig(
    urls: DatabaseUrls,
    log_path: Path,
    *,
    db: Database | None = None,
    database_url: str | None = None,
    **settings: object,
) -> Rig:
    secret = secrets.token_urlsafe(48)
    env = rig_environment(database_url or urls.server, secret, **settings)
    return Rig(ServerProcess(env, log_path), db or Database(urls.tests), Tokens(secret), urls)


def tcp_states(local_port: int, remote_port: int) -> list[str]:
    """The kernel's states (hex codes, 01 = ESTABLISHED) of the TCP sockets from
    `local_port` to `remote_port` in this network namespace."""
    states = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as rows:
                next(rows)
                for row in rows:
                    local, remote, state = row.split()[1:4]
                    if (
                        int(local.rsplit(":", 1)[1], 16) == local_port
                        and int(remote.rsplit(":", 1)[1], 16) == remote_port
                    ):
                        states.append(state)
        except OSError:
            continue
    return states


def resident_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for process {pid}")


# ---------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class StoredRow:
    id: int
    user_id: int
    message: str
    client_msg_id: str | None


def stored(db: Database, show: Show) -> list[StoredRow]:
    """A show's chat_messages rows, oldest first, with the column idempotent sends add."""
    with db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT id, user_id, message, client_msg_id FROM chat_messages "
                "WHERE show_id = :show ORDER BY id"
            ),
            {"show": show.id},
        ).all()
    return [StoredRow(*row) for row in rows]


async def wait_for_rows(
    db: Database, show: Show, count: int, *, timeout: float = TIMEOUT
) -> list[StoredRow]:
    """The show's rows once there are at least `count`, polled with a deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        rows = stored(db, show)
        if len(rows) >= count or loop.time() > deadline:
            return rows
        await asyncio.sleep(0.02)


# ---------------------------------------------------------------------------- scenes


async def pair_on(rig: Rig):
    """Alice and Bob connected to `rig` and in a new show; Alice has seen Bob join."""
    from .client import about
    from .scenes import Person

    alice, bob, show = rig.db.add_user(), rig.db.add_user(), rig.db.add_show()
    first = await rig.connect(alice)
    await first.join(show.id)
    second = await rig.connect(bob)
    await second.join(show.id)
    await first.wait_for("user_joined", about(bob))
    return show, Person(alice, first), Person(bob, second)
