"""Security fixtures: real `serve` processes on a real PostgreSQL (unreachable: skipped, or
an error under CI=true).

- `rig`: one server with push configured (a key pair from `vapid-keys`) and
  CORS_ALLOWED_ORIGINS=ALLOWED_ORIGIN, shared by the module's tests;
- `launch(**settings)`: a dedicated server with settings of its own, stopped after the test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from support.database import Database, DatabaseUrls
from support.push_rig import parse_vapid_keys, push_environment
from support.rigs import Launcher, Rig, make_rig, migrated_postgres, one_test_on, seeding
from support.server import run_cli
from support.settings import ALLOWED_ORIGIN, TIMEOUT


@pytest.fixture(scope="session")
def security_postgres(postgres_admin_url) -> Iterator[DatabaseUrls]:
    with migrated_postgres(postgres_admin_url) as urls:
        yield urls


@pytest.fixture(scope="session")
def security_db(security_postgres) -> Iterator[Database]:
    with seeding(security_postgres) as db:
        yield db


@pytest.fixture(scope="session")
def vapid_settings() -> dict:
    result = run_cli("vapid-keys", env=push_environment("sqlite:///unused.db", None))
    assert result.returncode == 0, f"vapid-keys failed:\n{result.stderr}"
    return {
        "VAPID_PRIVATE_KEY": parse_vapid_keys(result.stdout).private_key,
        "VAPID_SUBJECT": "mailto:security-tests@sharemyshows.example",
    }


@pytest.fixture(scope="module")
async def _shared_rig(security_postgres, security_db, vapid_settings, tmp_path_factory):
    rig = make_rig(
        security_postgres,
        tmp_path_factory.mktemp("security") / "server.log",
        db=security_db,
        CORS_ALLOWED_ORIGINS=ALLOWED_ORIGIN,
        **vapid_settings,
    )
    await rig.start()
    yield rig
    await rig.stop()


@pytest.fixture
async def rig(_shared_rig) -> AsyncIterator[Rig]:
    async for made in one_test_on(_shared_rig):
        yield made


@pytest.fixture
async def launch(security_postgres, security_db, tmp_path) -> AsyncIterator[Launcher]:
    launcher = Launcher(security_postgres, security_db, tmp_path)
    yield launcher
    await launcher.stop_all()


@pytest.fixture
async def http(rig) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=rig.base_url, timeout=TIMEOUT) as client:
        yield client
