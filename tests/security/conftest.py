"""Security fixtures: real `serve` processes on a real PostgreSQL (unreachable: skipped, or
an error under CI=true).

- `rig`: one server with push configured (a key pair from `vapid-keys`) and
  CORS_ALLOWED_ORIGINS=ALLOWED_ORIGIN, shared by the module's tests;
- `launch(**settings)`: a dedicated server with settings of its own, stopped after the test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from support.database import Database, DatabaseUrls, fresh_postgres
from support.push_rig import parse_vapid_keys, push_environment
from support.rigs import Rig, make_rig, migrate, one_test_on
from support.server import run_cli, tail
from support.settings import ALLOWED_ORIGIN, TIMEOUT


@pytest.fixture(scope="session")
def security_postgres(postgres_admin_url) -> Iterator[DatabaseUrls]:
    with fresh_postgres(postgres_admin_url) as urls:
        migrate(urls)
        yield urls


@pytest.fixture(scope="session")
def security_db(security_postgres) -> Iterator[Database]:
    db = Database(security_postgres.tests)
    yield db
    db.dispose()


@pytest.fixture(scope="session")
def vapid_settings() -> dict:
    result = run_cli("vapid-keys", env=push_environment("sqlite:///unused.db", None))
    assert result.returncode == 0, f"vapid-keys failed:\n{result.stderr}"
    return {"VAPID_PRIVATE_KEY": parse_vapid_keys(result.stdout).private_key,
            "VAPID_SUBJECT": "mailto:security-tests@sharemyshows.example"}


@pytest.fixture(scope="module")
async def _shared_rig(security_postgres, security_db, vapid_settings, tmp_path_factory):
    rig = make_rig(security_postgres, tmp_path_factory.mktemp("security") / "server.log",
                   db=security_db, CORS_ALLOWED_ORIGINS=ALLOWED_ORIGIN, **vapid_settings)
    await rig.start()
    yield rig
    await rig.stop()


@pytest.fixture
async def rig(_shared_rig) -> AsyncIterator[Rig]:
    async for made in one_test_on(_shared_rig):
        yield made


class Launcher:
    """launch(**settings): a started dedicated server on the session's database."""

    def __init__(self, urls: DatabaseUrls, db: Database, workdir: Path) -> None:
        self._urls, self._db, self._workdir = urls, db, workdir
        self.rigs: list[Rig] = []

    async def __call__(self, **settings: object) -> Rig:
        rig = make_rig(self._urls, self._workdir / f"server-{len(self.rigs)}.log", db=self._db,
                       **settings)
        self.rigs.append(rig)
        return await rig.start()

    async def stop_all(self) -> None:
        for rig in self.rigs:
            await rig.stop()


@pytest.fixture
async def launch(security_postgres, security_db, tmp_path) -> AsyncIterator[Launcher]:
    launcher = Launcher(security_postgres, security_db, tmp_path)
    yield launcher
    await launcher.stop_all()


@pytest.fixture
async def http(rig) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=rig.base_url, timeout=TIMEOUT) as client:
        yield client


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing security test shows the end of its servers' logs."""
    outcome = yield
    report = outcome.get_result()
    if not report.failed or not hasattr(item, "funcargs"):
        return
    rigs = [value for value in item.funcargs.values() if isinstance(value, Rig)]
    for value in item.funcargs.values():
        if isinstance(value, Launcher):
            rigs.extend(value.rigs)
    for index, made in enumerate(rigs):
        report.sections.append((f"server {index} log (last 40 lines)",
                                tail(made.server.log_path, 40)))
