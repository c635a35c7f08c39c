"""Web Push fixtures: a push service of the tests' own (`peer`), a VAPID key pair made by
`sharemyshows-rt vapid-keys`, and one `serve` process on a fresh PostgreSQL database that
pushes to the peer (allowed with PUSH_ENDPOINT_ALLOWLIST), shared by the tests of the run.
Each test makes its own users, shows and devices through `push` (a PushScene, see
support/push_rig.py for its barriers)."""

from __future__ import annotations

import secrets

import httpx
import pytest
from support.database import Database, DatabaseUrls
from support.push_rig import (
    PushDeployment,
    PushScene,
    VapidPair,
    parse_vapid_keys,
    push_environment,
    push_settings,
    start_servers,
    stop_servers,
)
from support.push_service import PushPeer
from support.rigs import migrated_postgres
from support.server import ServerProcess, run_cli
from support.settings import TIMEOUT
from support.tokens import Tokens


@pytest.fixture(scope="session")
async def peer():
    """The push service every test's devices subscribe at."""
    made = await PushPeer().start()
    try:
        yield made
    finally:
        await made.stop()


@pytest.fixture(scope="session")
def vapid_pair() -> VapidPair:
    """A key pair from `sharemyshows-rt vapid-keys`: what an operator would configure."""
    result = run_cli("vapid-keys", env=push_environment("sqlite:///unused.db", None))
    assert result.returncode == 0, f"vapid-keys failed:\n{result.stderr}"
    return parse_vapid_keys(result.stdout)


@pytest.fixture(scope="session")
def push_postgres(postgres_admin_url):
    """A fresh, migrated PostgreSQL database, dropped at the end of the run."""
    with migrated_postgres(postgres_admin_url) as urls:
        yield urls


@pytest.fixture(scope="session")
async def push_deployment(push_postgres: DatabaseUrls, peer, vapid_pair, tmp_path_factory):
    """`serve` on PostgreSQL with the key pair from `vapid-keys`, pushing to the peer."""
    workdir = tmp_path_factory.mktemp("push-server")
    secret = secrets.token_urlsafe(48)
    env = push_environment(push_postgres.server, secret, **push_settings(peer, vapid_pair))
    server = ServerProcess(env, workdir / "server.log")
    await start_servers([server])
    db = Database(push_postgres.tests)
    try:
        yield PushDeployment([server], db, Tokens(secret), peer, vapid_pair)
    finally:
        db.dispose()
        await stop_servers([server])


@pytest.fixture
async def push(push_deployment):
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        scene = PushScene(push_deployment, http)
        try:
            yield scene
        finally:
            push_deployment.peer.release()  # nothing a test held open outlives it
            await scene.close()
