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

from support.database import Database, DatabaseUrls, fresh_postgres
from support.rigs import ROOMY, Rig, make_rig, migrate, one_test_on
from support.server import tail
from support.settings import TIMEOUT


@pytest.fixture(scope="session")
def reliability_postgres(postgres_admin_url) -> Iterator[DatabaseUrls]:
    """One migrated database shared by the rigs (each test makes its own users and shows)."""
    with fresh_postgres(postgres_admin_url) as urls:
        migrate(urls)
        yield urls


@pytest.fixture(scope="session")
def reliability_db(reliability_postgres) -> Iterator[Database]:
    db = Database(reliability_postgres.tests)
    yield db
    db.dispose()


async def _session_rig(urls, db, log: Path, **settings) -> AsyncIterator[Rig]:
    rig = make_rig(urls, log, db=db, **settings)
    try:
        yield await rig.start()
    finally:
        await rig.stop()


@pytest.fixture(scope="session")
async def _default_rig(reliability_postgres, reliability_db, tmp_path_factory):
    async for rig in _session_rig(reliability_postgres, reliability_db,
                                  tmp_path_factory.mktemp("default-rig") / "server.log"):
        yield rig


@pytest.fixture(scope="session")
async def _roomy_rig(reliability_postgres, reliability_db, tmp_path_factory):
    async for rig in _session_rig(reliability_postgres, reliability_db,
                                  tmp_path_factory.mktemp("roomy-rig") / "server.log", **ROOMY):
        yield rig


@pytest.fixture
async def default_rig(_default_rig) -> AsyncIterator[Rig]:
    async for rig in one_test_on(_default_rig):
        yield rig


@pytest.fixture
async def roomy_rig(_roomy_rig) -> AsyncIterator[Rig]:
    async for rig in one_test_on(_roomy_rig):
        yield rig


class Launcher:
    """launch(**settings): a started dedicated server; `urls`/`db` pick another database."""

    def __init__(self, urls: DatabaseUrls, db: Database, workdir: Path) -> None:
        self._urls = urls
        self._db = db
        self._workdir = workdir
        self.rigs: list[Rig] = []

    async def __call__(self, *, urls: DatabaseUrls | None = None, db: Database | None = None,
                       database_url: str | None = None, **settings: object) -> Rig:
        log = self._workdir / f"server-{len(self.rigs)}.log"
        rig = make_rig(urls or self._urls, log, db=db or (None if urls else self._db),
                       database_url=database_url, **settings)
        self.rigs.append(rig)
        return await rig.start()

    async def stop_all(self) -> None:
        for rig in self.rigs:
            await rig.stop()
            if rig.db is not self._db:
                rig.db.dispose()


@pytest.fixture
async def launch(reliability_postgres, reliability_db, tmp_path) -> AsyncIterator[Launcher]:
    launcher = Launcher(reliability_postgres, reliability_db, tmp_path)
    yield launcher
    await launcher.stop_all()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing reliability test shows the end of its servers' logs."""
    outcome = yield
    report = outcome.get_result()
    if not report.failed or not hasattr(item, "funcargs"):
        return
    rigs = []
    for value in item.funcargs.values():
        if isinstance(value, Rig):
            rigs.append(value)
        elif isinstance(value, Launcher):
            rigs.extend(value.rigs)
    for index, rig in enumerate(rigs):
        report.sections.append((f"server {index} log (last 40 lines)",
                                tail(rig.server.log_path, 40)))


@pytest.fixture
def http_for():
    """http_for(rig): an httpx.AsyncClient for that server (use it with `async with`)."""
    def make(rig: Rig) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=rig.base_url, timeout=TIMEOUT)
    return make
