"""Servers that send Web Push to the tests' own push service, and one test's view of them.

`PushScene` makes users, shows, subscribed devices and connections. Knowing that something
was *not* pushed needs a barrier, never a sleep: `barrier()` has a witness told of a
message sent after the one under test (a server decides on notifications in message order
and hands them to its senders in that order), and `fold_barrier()` waits for a witness's
folded notification, whose window opened after everything before it (folds are claimed in
the order their windows end)."""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text, insert, select

from .client import ChatClient
from .database import Database, Show, User, show_checkins
from .push_service import Device, Notification, PushPeer
from .rest import bearer
from .rigs import ROOMY, migrated_postgres, rig_environment
from .server import ServerProcess, ShowsLogs, tail
from .settings import TIMEOUT
from .tokens import Tokens

# The push settings of the tests' servers.
PUSH_COALESCE_SECONDS = 2
PUSH_CHECKIN_WINDOW = 600
PUSH_TTL = 3600
VAPID_SUBJECT = "mailto:push-tests@sharemyshows.example"
PUSH_URL_TEMPLATE = "https://sharemyshows.example/shows/{show_id}/chat"
PREVIEW = 120  # characters of the last message a notification carries
FLUSH_PERIOD = 1.0  # how often a server looks for folds whose window has ended
# A folded notification: the window, the next look for due folds, and the usual slack.
FOLD_TIMEOUT = PUSH_COALESCE_SECONDS + FLUSH_PERIOD + TIMEOUT

_metadata = MetaData()
push_subscriptions = Table(
    "push_subscriptions",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer),
    Column("endpoint", Text),
    Column("p256dh", String),
    Column("auth", String),
    Column("created_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True)),
)
show_mutes = Table(
    "show_mutes",
    _metadata,
    Column("user_id", Integer, primary_key=True),
    Column("show_id", Integer, primary_key=True),
    Column("muted_at", DateTime(timezone=True)),
)

VAPID_PRIVATE_LINE = re.compile(r"^VAPID_PRIVATE_KEY=(\S+)$", re.MULTILINE)
BASE64URL_POINT = re.compile(r"(?<![A-Za-z0-9_-])B[A-Za-z0-9_-]{86}(?![A-Za-z0-9_-])")


@dataclass(frozen=True)
class VapidPair:
    private_key: str
    public_key: str
    output: str


def parse_vapid_keys(stdout: str) -> VapidPair:
    """The pair `sharemyshows-rt vapid-keys` printed: the VAPID_PRIVATE_KEY= line and the
    public key (the one base64url uncompressed P-256 point in the output)."""
    private = VAPID_PRIVATE_LINE.findall(stdout)
    public = BASE64URL_POINT.findall(stdout)
    assert len(private) == 1, f"no single VAPID_PRIVATE_KEY=... line in:\n{stdout}"
    assert len(public) == 1, f"no single base64url public key in:\n{stdout}"
    return VapidPair(private[0], public[0], stdout)


def push_environment(database_url: str, secret: str | None, **settings: object) -> dict:
    """A server's environment: the database, the secret (None: none), `settings`, and no
    VAPID_ or PUSH_ variable, REDIS_PREFIX or limit inherited from the caller."""
    env = rig_environment(database_url, secret or "unused")
    if secret is None:
        del env["JWT_SECRET_KEY"]
    for name in list(env):
        if name.upper().startswith(("VAPID_", "PUSH_")) or name.upper() == "REDIS_PREFIX":
            del env[name]
    env.update({name.upper(): str(value) for name, value in settings.items()})
    return env


def push_settings(peer: PushPeer, vapid: VapidPair, **overrides: object) -> dict:
    """Small coalescing window, the peer allowed, rate limits out of the way."""
    return {
        **ROOMY,
        "VAPID_PRIVATE_KEY": vapid.private_key,
        "VAPID_SUBJECT": VAPID_SUBJECT,
        "PUSH_ENDPOINT_ALLOWLIST": peer.origin,
        "PUSH_COALESCE_SECONDS": PUSH_COALESCE_SECONDS,
        "PUSH_CHECKIN_WINDOW": PUSH_CHECKIN_WINDOW,
        "PUSH_TTL": PUSH_TTL,
        "PUSH_URL_TEMPLATE": PUSH_URL_TEMPLATE,
        **overrides,
    }


async def start_servers(servers: list[ServerProcess]) -> None:
    """Start them all at once, off the event loop (the peer lives in it)."""
    results = await asyncio.gather(
        *(asyncio.to_thread(server.start) for server in servers), return_exceptions=True
    )
    failures = [result for result in results if isinstance(result, BaseException)]
    if failures:
        await stop_servers(servers)
        raise failures[0]


async def stop_servers(servers: list[ServerProcess]) -> None:
    await asyncio.gather(*(asyncio.to_thread(server.stop) for server in servers))


@dataclass
class PushDeployment:
    """Servers pushing to the peer, their database and the secret of their tokens."""

    servers: list[ServerProcess]
    db: Database
    tokens: Tokens
    peer: PushPeer
    vapid: VapidPair


@asynccontextmanager
async def own_deployment(
    admin_url: str, peer: PushPeer, vapid: VapidPair, workdir: Path, **settings: object
) -> AsyncIterator[PushDeployment]:
    """One `serve` of the test's own, with `settings`, on a fresh migrated database."""
    with migrated_postgres(admin_url) as urls:
        secret = secrets.token_urlsafe(48)
        env = push_environment(urls.server, secret, **push_settings(peer, vapid, **settings))
        server = ServerProcess(env, workdir / "server.log")
        await start_servers([server])
        db = Database(urls.tests)
        try:
            yield PushDeployment([server], db, Tokens(secret), peer, vapid)
        finally:
            db.dispose()
            await stop_servers([server])


@dataclass
class Fan:
    user: User
    device: Device


@dataclass
class PushScene(ShowsLogs):
    """One test's view of a deployment: users, shows, subscribed devices, connections."""

    deployment: PushDeployment
    http: httpx.AsyncClient
    clients: list[ChatClient] = field(default_factory=list)
    _barrier_sender: User | None = None

    @property
    def db(self) -> Database:
        return self.deployment.db

    @property
    def peer(self) -> PushPeer:
        return self.deployment.peer

    def base_url(self, node: int = 0) -> str:
        return self.deployment.servers[node].base_url

    def server_logs(self) -> list[tuple[str, str]]:
        return [
            (f"push server {index} log (last 30 lines)", tail(server.log_path, 30))
            for index, server in enumerate(self.deployment.servers)
        ]

    def auth(self, user: User) -> dict:
        return bearer(self.deployment.tokens.access(user.id))

    # ------------------------------------------------------------------ people and shows

    def user(self, username: str | None = None) -> User:
        return self.db.add_user(username)

    def show(self) -> Show:
        return self.db.add_show()

    async def subscribe(self, user: User, subscription: dict, node: int = 0) -> httpx.Response:
        return await self.http.post(
            f"{self.base_url(node)}/api/push/subscriptions",
            json=subscription,
            headers=self.auth(user),
        )

    async def device(self, user: User) -> Device:
        """A new device of the user's, subscribed through the REST API."""
        device = Device(self.peer)
        response = await self.subscribe(user, device.subscription())
        assert response.status_code == 201, (response.status_code, response.text)
        return device

    def check_in(self, user: User, show: Show, *, checked_out_ago: float | None = None) -> None:
        """A show_checkins row, as the ShareMyShows app would write it: checked in an hour
        ago, and still (None) or checked out `checked_out_ago` seconds ago."""
        now = datetime.now(UTC)
        out = None if checked_out_ago is None else now - timedelta(seconds=checked_out_ago)
        with self.db.engine.begin() as conn:
            conn.execute(
                insert(show_checkins).values(
                    user_id=user.id,
                    show_id=show.id,
                    checked_in_at=now - timedelta(hours=1),
                    checked_out_at=out,
                )
            )

    async def away_fan(self, show: Show, *, checked_out_ago: float | None = None) -> Fan:
        """A user checked in to the show, with one subscribed device, not connected."""
        user = self.user()
        device = await self.device(user)
        self.check_in(user, show, checked_out_ago=checked_out_ago)
        return Fan(user, device)

    async def connect(self, user: User, node: int = 0) -> ChatClient:
        client = ChatClient(self.base_url(node))
        self.clients.append(client)
        await client.connect(auth=self.deployment.tokens.access(user.id))
        await client.wait_for("connected")
        return client

    async def in_room(self, user: User, show: Show, node: int = 0) -> ChatClient:
        """The user connected and joined to the show, with the check-in row written."""
        client = await self.connect(user, node)
        await client.join(show.id)
        await self.db.wait_for_checkin(user, show, checked_out=False)
        return client

    async def send(self, client: ChatClient, show: Show, texts: list[str]) -> list[dict]:
        """Each text sent and acknowledged, one after the other; the saved messages."""
        saved = []
        for text in texts:
            ack = await client.call("send_message", {"show_id": show.id, "message": text})
            assert isinstance(ack, dict) and ack.get("ok") is True, f"send_message: {ack!r}"
            saved.append(ack.get("message", ack))
        return saved

    # ------------------------------------------------------------------ barriers

    async def _witness(self, messages: int) -> list[Notification]:
        show = self.show()
        witness = await self.away_fan(show)
        if self._barrier_sender is None:
            self._barrier_sender = self.user()
        sender = await self.in_room(self._barrier_sender, show)
        await self.send(sender, show, [f"barrier {n}" for n in range(messages)])
        timeout = TIMEOUT if messages == 1 else FOLD_TIMEOUT
        return await self.peer.wait_for(witness.device, messages, timeout=timeout)

    async def barrier(self) -> None:
        """Every notification decided on for the messages sent before now has been handed
        to the server's senders and sent: a fresh fan is told of a message sent after them."""
        await self._witness(1)

    async def fold_barrier(self) -> None:
        """Every folded notification whose window ended before now has been sent: a fresh
        fan's fold, whose window opens now, arrives."""
        await self._witness(2)

    # ------------------------------------------------------------------ the tables

    def subscription_rows(self, *, user: User | None = None, endpoint: str | None = None) -> list:
        query = select(push_subscriptions)
        if user is not None:
            query = query.where(push_subscriptions.c.user_id == user.id)
        if endpoint is not None:
            query = query.where(push_subscriptions.c.endpoint == endpoint)
        with self.db.engine.connect() as conn:
            return conn.execute(query.order_by(push_subscriptions.c.id)).all()

    def muted(self, user: User, show: Show) -> bool:
        with self.db.engine.connect() as conn:
            return (
                conn.execute(
                    select(show_mutes).where(
                        show_mutes.c.user_id == user.id, show_mutes.c.show_id == show.id
                    )
                ).first()
                is not None
            )

    async def wait_until_unsubscribed(self, endpoint: str, timeout: float = TIMEOUT) -> None:
        """Polled with a deadline: no event reports the removal of a subscription."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.subscription_rows(endpoint=endpoint):
            assert loop.time() < deadline, (
                f"the subscription {endpoint} is still stored after {timeout}s"
            )
            await asyncio.sleep(0.02)

    async def metric(self, outcome: str, node: int = 0) -> float:
        """sharemyshows_push_total{outcome=...} of one server (0 before the first)."""
        response = await self.http.get(f"{self.base_url(node)}/metrics")
        assert response.status_code == 200, response.text
        pattern = re.compile(
            rf'^sharemyshows_push_total\{{outcome="{re.escape(outcome)}"\}} (\S+)$', re.MULTILINE
        )
        found = pattern.findall(response.text)
        return float(found[0]) if found else 0.0

    async def close(self) -> None:
        await asyncio.gather(*(client.close() for client in self.clients), return_exceptions=True)
