"""Fixtures: one real server per database backend for the whole run, its database, tokens,
Socket.IO clients and an HTTP client. Black-box tests run once against SQLite and once
against PostgreSQL."""

import asyncio
import atexit
import secrets
from contextlib import ExitStack
from dataclasses import dataclass

import httpx
import pytest
from support.client import ChatClient
from support.database import Database, DatabaseUrls, backend_urls
from support.rigs import migrate
from support.server import ServerProcess, ShowsLogs, tail
from support.settings import ALLOWED_ORIGIN, TIMEOUT, clean_environment
from support.tokens import Tokens

# The plumbing every suite shares: postgres_admin_url, unavailable(), the logs of failures.
pytest_plugins = ["support.fixtures"]

BACKENDS = ["sqlite", "postgresql"]


@dataclass
class Deployment(ShowsLogs):
    """A running server, its database and the secret its tokens are signed with."""

    backend: str
    server: ServerProcess
    db: Database
    tokens: Tokens
    env: dict
    urls: DatabaseUrls

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def server_logs(self) -> list[tuple[str, str]]:
        return [(f"{self.backend} server log (last 30 lines)", tail(self.server.log_path, 30))]


def server_environment(database_url: str, secret: str) -> dict:
    return clean_environment(
        DATABASE_URL=database_url, JWT_SECRET_KEY=secret, CORS_ALLOWED_ORIGINS=ALLOWED_ORIGIN
    )


@pytest.fixture(scope="session", params=BACKENDS)
def deployment(request, tmp_path_factory) -> Deployment:
    """`serve` on a fresh database of each backend, shared by every black-box test."""
    backend = request.param
    workdir = tmp_path_factory.mktemp(f"server-{backend}")
    secret = secrets.token_urlsafe(48)
    with ExitStack() as cleanup:
        urls = backend_urls(request, backend, workdir, cleanup)
        env = server_environment(urls.server, secret)
        if backend == "postgresql":
            migrate(urls)
        server = ServerProcess(env, workdir / "server.log")
        cleanup.callback(server.stop)
        atexit.register(server.stop)  # should pytest itself die before teardown
        server.start()
        db = Database(urls.tests)
        cleanup.callback(db.dispose)
        yield Deployment(backend, server, db, Tokens(secret), env, urls)


@pytest.fixture
def db(deployment) -> Database:
    return deployment.db


@pytest.fixture
def tokens(deployment) -> Tokens:
    return deployment.tokens


@pytest.fixture(autouse=True)
def server_survives(request):
    """Whatever a black-box test sends, the server must still be running afterwards."""
    yield
    deployment = request.node.funcargs.get("deployment")
    if isinstance(deployment, Deployment):
        assert deployment.server.alive(), (
            f"the server died during the test:\n{tail(deployment.server.log_path)}"
        )


@pytest.fixture
async def clients(deployment):
    """Makes unconnected ChatClients; all are closed after the test."""
    made: list[ChatClient] = []

    def make(transport: str = "websocket") -> ChatClient:
        client = ChatClient(deployment.base_url, transport=transport)
        made.append(client)
        return client

    yield make
    await asyncio.gather(*(client.close() for client in made), return_exceptions=True)


@pytest.fixture
def connect(clients, tokens):
    """connect(user, via="auth"|"query"|"cookie", transport=..., token=..., headers=...)."""

    async def connect(
        user,
        *,
        via: str = "auth",
        transport: str = "websocket",
        token: str | None = None,
        headers: dict | None = None,
    ) -> ChatClient:
        client = clients(transport)
        await client.connect(
            **{via: token if token is not None else tokens.access(user.id)}, headers=headers
        )
        return client

    return connect


@pytest.fixture
async def http(deployment):
    async with httpx.AsyncClient(base_url=deployment.base_url, timeout=TIMEOUT) as client:
        yield client
