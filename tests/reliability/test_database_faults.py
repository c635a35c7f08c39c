"""Database faults on PostgreSQL. The server reaches its database through a TCP proxy in the
test process, which the tests break; PostgreSQL itself kills the server's connections.
Whatever happens, the server does not crash, an event fails with `Service unavailable`
rather than hanging past DB_TIMEOUT, it serves again as soon as the database is back (same
process, no restart), and every message it acknowledged as stored is in the database."""

import asyncio
from dataclasses import dataclass, field

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from support.database import Database
from support.expect import acked_message, assert_error, assert_failed_ack
from support.rigs import ROOMY, Rig, make_rig, migrated_postgres, pair_on, stored
from support.scenes import assert_still_usable
from support.settings import HOST, TIMEOUT
from support.tcp_proxy import TcpProxy

DB_TIMEOUT = 1.0
MARGIN = 2.0  # scheduling, and the rollback of a cancelled statement
USER_CACHE_SECONDS = 1.0  # short: an outage outlives the users' cached lookups


@dataclass
class Proxied:
    rig: Rig
    proxy: TcpProxy
    admin_url: str
    database: str


@pytest.fixture(scope="module")
async def proxied(postgres_admin_url, tmp_path_factory):
    """A server on a database of its own, reached through a TcpProxy."""
    with migrated_postgres(postgres_admin_url) as urls:
        proxy = await TcpProxy(
            make_url(urls.server).host or HOST, make_url(urls.server).port or 5432
        ).start()
        through_proxy = make_url(urls.server).set(host=HOST, port=proxy.port)
        rig = make_rig(
            urls,
            tmp_path_factory.mktemp("proxied") / "server.log",
            database_url=through_proxy.render_as_string(hide_password=False),
            DB_TIMEOUT=DB_TIMEOUT,
            USER_CACHE_SECONDS=USER_CACHE_SECONDS,
            **ROOMY,
        )
        try:
            await rig.start()
            yield Proxied(rig, proxy, postgres_admin_url, make_url(urls.server).database)
        finally:
            await rig.stop()
            rig.db.dispose()
            await proxy.close()


@pytest.fixture
async def faults(proxied):
    """The module's proxied server for one test; the proxy is whole again afterwards."""
    before = len(proxied.rig.clients)
    yield proxied
    proxied.proxy.restore()
    made, proxied.rig.clients[before:] = proxied.rig.clients[before:], []
    await asyncio.gather(*(client.close() for client in made), return_exceptions=True)
    assert proxied.rig.server.alive(), "the server died"


def terminate_backends(admin_url: str, database: str) -> int:
    """pg_terminate_backend every connection to `database`; how many there were."""
    engine = create_engine(
        make_url(admin_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    try:
        with engine.connect() as conn:
            return len(
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :db AND pid <> pg_backend_pid()"
                    ),
                    {"db": database},
                ).all()
            )
    finally:
        engine.dispose()


async def kill_connections(faults: Proxied, db: Database) -> int:
    # In a thread: the proxy, in this event loop, must relay PostgreSQL's goodbyes meanwhile.
    killed = await asyncio.to_thread(terminate_backends, faults.admin_url, faults.database)
    db.engine.dispose()  # the tests' own pooled connections were killed too
    return killed


@dataclass
class Ledger:
    """Every send's outcome: stored (acked ok) or refused with Service unavailable."""

    acked: list[int] = field(default_factory=list)
    unavailable: int = 0

    def record(self, ack) -> bool:
        if isinstance(ack, dict) and ack.get("ok") is True:
            self.acked.append(acked_message(ack)["id"])
            return True
        assert_failed_ack(ack, "Service unavailable")
        self.unavailable += 1
        return False

    def assert_all_stored(self, db: Database, show) -> None:
        ids = {row.id for row in stored(db, show)}
        missing = [i for i in self.acked if i not in ids]
        assert not missing, f"acknowledged as stored but not in the database: {missing}"


def say(show, text: str) -> dict:
    return {"show_id": show.id, "message": text}


async def test_killed_database_connections_fail_soft_and_sends_work_again_at_once(faults):
    rig, ledger = faults.rig, Ledger()
    show, alice, bob = await pair_on(rig)
    people = [alice, bob]
    for n in range(3):  # the pool now holds live connections to kill
        assert ledger.record(await alice.client.call("send_message", say(show, f"warm {n}")))

    for round_ in range(3):
        assert await kill_connections(faults, rig.db) >= 1, "no server connection was killed"
        acks = await asyncio.gather(
            *(
                person.client.call("send_message", say(show, f"r{round_} {k}"))
                for k in range(3)
                for person in people
            )
        )
        for ack in acks:
            ledger.record(ack)
        # Right after: the next send is stored.
        assert ledger.record(await bob.client.call("send_message", say(show, f"after {round_}")))

    # Connections killed while sends are in flight.
    async def keep_sending(person, tag: str) -> None:
        for k in range(40):
            ledger.record(await person.client.call("send_message", say(show, f"{tag} {k}")))

    senders = [asyncio.create_task(keep_sending(p, t)) for p, t in zip(people, "ab")]
    for _ in range(3):
        target = len(ledger.acked) + 5
        await alice.client.wait_until(
            lambda: len(ledger.acked) >= target or all(s.done() for s in senders),
            what="5 more stored",
        )
        await kill_connections(faults, rig.db)
    await asyncio.gather(*senders)

    assert rig.server.alive() and alice.client.connected and bob.client.connected
    assert ledger.record(await alice.client.call("send_message", say(show, "the end")))
    ledger.assert_all_stored(rig.db, show)
    # Nobody was told twice, or told of a message that is not stored.
    await bob.client.active_users(show.id)  # barrier
    delivered = [m["id"] for m in bob.client.received("new_message")]
    assert len(delivered) == len(set(delivered))
    assert set(delivered) <= {row.id for row in stored(rig.db, show)}


@pytest.mark.parametrize("fault", ["paused", "down"])
async def test_unreachable_database_is_service_unavailable_within_db_timeout_then_recovers(
    fault, faults, http_for
):
    """paused: PostgreSQL frozen (bytes and new connections held); down: connections reset
    and refused."""
    rig, proxy, ledger = faults.rig, faults.proxy, Ledger()
    pid = rig.pid
    show, alice, bob = await pair_on(rig)
    assert ledger.record(await alice.client.call("send_message", say(show, "before")))
    loop = asyncio.get_running_loop()

    async with http_for(rig) as http:
        proxy.pause() if fault == "paused" else proxy.refuse()
        for attempt in range(2):
            since = alice.client.mark()
            started = loop.time()
            ack = await alice.client.call(
                "send_message",
                say(show, f"during {attempt}"),
                timeout=DB_TIMEOUT + MARGIN + TIMEOUT,
            )
            elapsed = loop.time() - started
            assert not ledger.record(ack), "stored while the database was unreachable?"
            assert elapsed < DB_TIMEOUT + MARGIN, f"answered after {elapsed:.1f}s"
            assert_error(
                await alice.client.wait_for("error", since=since),
                event="send_message",
                message="Service unavailable",
            )
        # The connection stays usable for what needs no database.
        await assert_still_usable(alice, show)
        typing = await alice.client.call("typing", {"show_id": show.id, "is_typing": True})
        assert typing.get("ok") is True
        ready = await http.get("/readyz")
        assert ready.status_code == 503, ready.text
        assert (await http.get("/healthz")).status_code == 200

        proxy.restore()
        # The same process serves again, at once.
        assert ledger.record(await alice.client.call("send_message", say(show, "after")))
        assert ledger.record(await bob.client.call("send_message", say(show, "bob after")))
        ready = await http.get("/readyz")
        assert ready.status_code == 200, ready.text

    assert rig.pid == pid and rig.server.alive()
    assert alice.client.connected and bob.client.connected
    ledger.assert_all_stored(rig.db, show)
    assert [row.message for row in stored(rig.db, show)] == ["before", "after", "bob after"]


def allow_connections(admin_url: str, database: str, allowed: bool) -> None:
    """ALTER DATABASE ... ALLOW_CONNECTIONS (from the admin database: not `database` itself)."""
    engine = create_engine(
        make_url(admin_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    try:
        with engine.connect() as conn:
            conn.execute(
                text(
                    f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS '
                    f"{'true' if allowed else 'false'}"
                )
            )
    finally:
        engine.dispose()


async def test_database_refusing_connections_is_service_unavailable_then_recovers(faults, http_for):
    """PostgreSQL terminates the server's connections and refuses new ones (SQLSTATE 55000,
    as "the database system is shutting down" and "too many clients" refuse with theirs):
    a refusal, not a bug, so `Service unavailable` and /readyz 503; allowed again, the same
    process serves at once."""
    rig, ledger = faults.rig, Ledger()
    show, alice, bob = await pair_on(rig)
    assert ledger.record(await alice.client.call("send_message", say(show, "before")))
    loop = asyncio.get_running_loop()

    async with http_for(rig) as http:
        try:
            await asyncio.to_thread(allow_connections, faults.admin_url, faults.database, False)
            assert await kill_connections(faults, rig.db) >= 1, "no server connection was killed"
            for attempt in range(2):
                since, started = alice.client.mark(), loop.time()
                ack = await alice.client.call(
                    "send_message",
                    say(show, f"refused {attempt}"),
                    timeout=DB_TIMEOUT + MARGIN + TIMEOUT,
                )
                assert not ledger.record(ack), "stored while the database refused connections?"
                assert loop.time() - started < DB_TIMEOUT + MARGIN
                assert_error(
                    await alice.client.wait_for("error", since=since),
                    event="send_message",
                    message="Service unavailable",
                )
            ready = await http.get("/readyz")
            assert ready.status_code == 503, ready.text
        finally:
            await asyncio.to_thread(allow_connections, faults.admin_url, faults.database, True)

        assert ledger.record(await alice.client.call("send_message", say(show, "after")))
        assert ledger.record(await bob.client.call("send_message", say(show, "bob after")))
        ready = await http.get("/readyz")
        assert ready.status_code == 200, ready.text

    assert rig.server.alive() and alice.client.connected and bob.client.connected
    ledger.assert_all_stored(rig.db, show)
    assert [row.message for row in stored(rig.db, show)] == ["before", "after", "bob after"]


async def test_an_outage_longer_than_the_user_cache_leaves_connected_users_served(faults):
    """Each event checks its user still exists (looked up again in the background once
    USER_CACHE_SECONDS have passed): with the database frozen past that lifetime, a known
    user is served on, never refused nor kept waiting."""
    rig, proxy = faults.rig, faults.proxy
    show, alice, bob = await pair_on(rig)
    loop = asyncio.get_running_loop()
    proxy.pause()
    started = loop.time()
    while loop.time() - started < USER_CACHE_SECONDS + 2 * DB_TIMEOUT:
        asked = loop.time()
        ack = await alice.client.call(
            "typing", {"show_id": show.id, "is_typing": True}, timeout=DB_TIMEOUT + MARGIN + TIMEOUT
        )
        assert ack.get("ok") is True, ack
        # A lookup waiting on the frozen database takes DB_TIMEOUT: none may hold an event.
        assert loop.time() - asked < DB_TIMEOUT, "an event waited on the database"
        await asyncio.sleep(0.1)
    await rig.wait_for_log("users not checked again")
    await assert_still_usable(alice, show)
    proxy.restore()
    acked_message(await bob.client.call("send_message", say(show, "after")))
