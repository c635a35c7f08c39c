"""Reliability fixtures: real servers on a real PostgreSQL (an unreachable PostgreSQL skips
these tests, and fails them under CI=true: see `postgres_admin_url`).

- `default_rig`: one server with every limit at its default, for the whole run;
- `roomy_rig`: one server whose rate limits are out of the way, for tests that need many
  messages fast;
- `launch(**settings)`: a dedicated server with settings of its own, stopped after the test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from support.database import Database, DatabaseUrls
from support.rigs import ROOMY, Launcher, Rig, make_rig, migrated_postgres, one_test_on, seeding
from support.settings import TIMEOUT


@pytest.fixture(scope="session")
def reliability_postgres(postgres_admin_url) -> Iterator[DatabaseUrls]:
    """One migrated database shared by the rigs (each test makes its own users and shows)."""
    with migrated_postgres(postgres_admin_url) as urls:
        yield urls


@pytest.fixture(scope="session")
def reliability_db(reliability_postgres) -> Iterator[Database]:
    with seeding(reliability_postgres) as db:
        yield db


async def _session_rig(urls, db, log: Path, **settings) -> AsyncIterator[Rig]:
    rig = make_rig(urls, log, db=db, **settings)
    try:
        yield await rig.start()
    finally:
        await rig.stop()


@pytest.fixture(scope="session")
async def _default_rig(reliability_postgres, reliability_db, tmp_path_factory):
    async for rig in _session_rig(
        reliability_postgres, reliability_db, tmp_path_factory.mktemp("default-rig") / "server.log"
    ):
        yield rig


@pytest.fixture(scope="session")
async def _roomy_rig(reliability_postgres, reliability_db, tmp_path_factory):
    async for rig in _session_rig(
        reliability_postgres,
        reliability_db,
        tmp_path_factory.mktemp("roomy-rig") / "server.log",
        **ROOMY,
    ):
        yield rig


@pytest.fixture
async def default_rig(_default_rig) -> AsyncIterator[Rig]:
    async for rig in one_test_on(_default_rig):
        yield rig


@pytest.fixture
async def roomy_rig(_roomy_rig) -> AsyncIterator[Rig]:
    async for rig in one_test_on(_roomy_rig):
        yield rig


@pytest.fixture
async def launch(reliability_postgres, reliability_db, tmp_path) -> AsyncIterator[Launcher]:
    launcher = Launcher(reliability_postgres, reliability_db, tmp_path)
    yield launcher
    await launcher.stop_all()


@pytest.fixture
def http_for():
    """http_for(rig): an httpx.AsyncClient for that server (use it with `async with`)."""

    def make(rig: Rig) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=rig.base_url, timeout=TIMEOUT)

    return make
