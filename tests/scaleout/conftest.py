"""Scale-out fixtures: several real `serve` processes on different ports, sharing one fresh
PostgreSQL database (created and dropped here) and a redis-server of the suite's own.

- `trio`: three processes with the rate limits out of the way, shared by the tests of the
  run (each test makes its own users and shows);
- `limited_duo`: two processes with low limits (SEND_RATE, SEND_BURST,
  MAX_CONNECTIONS_PER_USER) to show the limits count across processes;
- `launch_cluster(size, redis_url=..., **settings)`: a dedicated cluster, stopped after the
  test (for a test that kills one of its processes);
- `launch_workers(n, **settings)`: `serve --workers n`, stopped after the test.

The test that kills Redis itself (test_redis_outage.py) starts a redis-server of its own.

Each cluster uses its own Redis database number on the shared private Redis, so the
presence and limit keys of one never meet another's. An unreachable PostgreSQL, or no
`redis-server` to start, skips these tests, and fails them under CI=true.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from support.database import Database, DatabaseUrls
from support.fixtures import unavailable
from support.rigs import ROOMY, migrated_postgres, rig_environment, seeding
from support.scaleout import (
    LIMITED,
    Cluster,
    RedisServer,
    WorkersServer,
    make_cluster,
    redis_server_problem,
)
from support.server import ShowsLogs, tail
from support.tokens import Tokens

# Redis database numbers on the session's private Redis (pub/sub ignores them; shows are
# unique in the one PostgreSQL database, so rooms never meet either).
TRIO_DB, LIMITED_DB, DEDICATED_DBS = 0, 1, range(2, 16)


@pytest.fixture(scope="session")
def redis_available() -> None:
    problem = redis_server_problem()
    if problem is not None:
        unavailable(
            f"{problem}: the scale-out tests need a private Redis", "it for the scale-out tests"
        )


@pytest.fixture(scope="session")
def scaleout_postgres(postgres_admin_url) -> Iterator[DatabaseUrls]:
    with migrated_postgres(postgres_admin_url) as urls:
        yield urls


@pytest.fixture(scope="session")
def scaleout_db(scaleout_postgres) -> Iterator[Database]:
    with seeding(scaleout_postgres) as db:
        yield db


@pytest.fixture(scope="session")
def session_redis(redis_available, tmp_path_factory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def _dedicated_dbs() -> Iterator[int]:
    return iter(DEDICATED_DBS)


async def _session_cluster(
    size: int,
    urls: DatabaseUrls,
    db: Database,
    redis_url: str,
    workdir: Path,
    name: str,
    **settings,
) -> AsyncIterator[Cluster]:
    cluster = make_cluster(size, urls.server, db, redis_url, workdir, name, **settings)
    try:
        yield await cluster.start()
    finally:
        await cluster.stop()


@pytest.fixture(scope="session")
async def _trio(scaleout_postgres, scaleout_db, session_redis, tmp_path_factory):
    async for cluster in _session_cluster(
        3,
        scaleout_postgres,
        scaleout_db,
        session_redis.url(TRIO_DB),
        tmp_path_factory.mktemp("trio"),
        "trio",
        **ROOMY,
    ):
        yield cluster


@pytest.fixture(scope="session")
async def _limited_duo(scaleout_postgres, scaleout_db, session_redis, tmp_path_factory):
    async for cluster in _session_cluster(
        2,
        scaleout_postgres,
        scaleout_db,
        session_redis.url(LIMITED_DB),
        tmp_path_factory.mktemp("limited"),
        "limited",
        **LIMITED,
    ):
        yield cluster


async def _for_one_test(cluster: Cluster) -> AsyncIterator[Cluster]:
    """The shared cluster; the clients a test made are closed after it, and every process
    must have survived the test."""
    before = len(cluster.clients)
    yield cluster
    made, cluster.clients[before:] = cluster.clients[before:], []
    for client in made:
        await client.close()
    dead = [index for index, node in enumerate(cluster.nodes) if not node.alive()]
    assert not dead, f"server(s) {dead} died during the test"


@pytest.fixture
async def trio(_trio) -> AsyncIterator[Cluster]:
    async for cluster in _for_one_test(_trio):
        yield cluster


@pytest.fixture
async def limited_duo(_limited_duo) -> AsyncIterator[Cluster]:
    async for cluster in _for_one_test(_limited_duo):
        yield cluster


class ClusterLauncher(ShowsLogs):
    """launch_cluster(size, redis_url=None, **settings): a started dedicated cluster on the
    suite's database; on the session Redis (a database number of its own) unless told."""

    def __init__(
        self,
        urls: DatabaseUrls,
        db: Database,
        session_redis: RedisServer,
        dbs: Iterator[int],
        workdir: Path,
    ) -> None:
        self._urls = urls
        self._db = db
        self._session_redis = session_redis
        self._dbs = dbs
        self._workdir = workdir
        self.clusters: list[Cluster] = []

    async def __call__(
        self, size: int, *, redis_url: str | None = None, **settings: object
    ) -> Cluster:
        if redis_url is None:
            redis_url = self._session_redis.url(next(self._dbs))
        name = f"cluster{len(self.clusters)}"
        cluster = make_cluster(
            size, self._urls.server, self._db, redis_url, self._workdir, name, **settings
        )
        self.clusters.append(cluster)
        return await cluster.start()

    async def stop_all(self) -> None:
        for cluster in self.clusters:
            await cluster.stop()

    def server_logs(self) -> list[tuple[str, str]]:
        return [section for cluster in self.clusters for section in cluster.server_logs()]


@pytest.fixture
async def launch_cluster(
    scaleout_postgres, scaleout_db, session_redis, _dedicated_dbs, tmp_path
) -> AsyncIterator[ClusterLauncher]:
    launcher = ClusterLauncher(
        scaleout_postgres, scaleout_db, session_redis, _dedicated_dbs, tmp_path
    )
    yield launcher
    await launcher.stop_all()


class WorkersLauncher(ShowsLogs):
    """launch_workers(n, **settings): `serve --workers n` on the suite's database and a
    database number of its own on the session Redis; stopped (SIGTERM, then SIGKILL, to
    the whole process group) after the test. `tokens` signs for the last one launched."""

    def __init__(
        self, urls: DatabaseUrls, session_redis: RedisServer, dbs: Iterator[int], workdir: Path
    ) -> None:
        self._urls = urls
        self._session_redis = session_redis
        self._dbs = dbs
        self._workdir = workdir
        self.servers: list[WorkersServer] = []
        self.tokens = Tokens(secrets.token_urlsafe(48))

    def environment(self, **settings: object) -> dict[str, str]:
        env = rig_environment(
            self._urls.server,
            self.tokens.secret,
            REDIS_URL=self._session_redis.url(next(self._dbs)),
            **settings,
        )
        env.pop("REDIS_PREFIX", None)
        return env

    async def __call__(self, workers: int, **settings: object) -> WorkersServer:
        server = WorkersServer(
            self.environment(**settings),
            self._workdir / f"workers-{len(self.servers)}.log",
            workers,
        )
        self.servers.append(server)
        return await asyncio.to_thread(server.start)

    async def stop_all(self) -> None:
        await asyncio.gather(*(asyncio.to_thread(server.stop) for server in self.servers))

    def server_logs(self) -> list[tuple[str, str]]:
        return [
            (f"serve --workers {server.workers} log (last 60 lines)", tail(server.log_path, 60))
            for server in self.servers
        ]


@pytest.fixture
async def launch_workers(
    scaleout_postgres, session_redis, _dedicated_dbs, tmp_path
) -> AsyncIterator[WorkersLauncher]:
    launcher = WorkersLauncher(scaleout_postgres, session_redis, _dedicated_dbs, tmp_path)
    yield launcher
    await launcher.stop_all()
