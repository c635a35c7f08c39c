"""Development first run: `serve` with no configuration at all, in an empty directory, makes
its SQLite database, seeds show 1 with alice and bob, and prints a token for each."""

import re

import pytest
from sqlalchemy import text
from support.client import ChatClient
from support.database import Database, fresh_postgres
from support.server import ServerProcess, run_cli
from support.settings import clean_environment

TOKEN_LINE = re.compile(r"^\s*(alice|bob) \(user (\d+)\): (\S+)$", re.MULTILINE)


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    """The server started with nothing configured; (server, its directory, {name: (id, token)})."""
    home = tmp_path_factory.mktemp("first-run")
    server = ServerProcess(clean_environment(), home.parent / "first-run.log", cwd=home)
    server.start()
    try:
        printed = {
            name: (int(user_id), token) for name, user_id, token in TOKEN_LINE.findall(server.log())
        }
        yield server, home, printed
    finally:
        server.stop()


def test_creates_the_sqlite_database_in_the_working_directory(first_run):
    _, home, _ = first_run
    assert (home / "sharemyshows_rt.db").is_file()


def test_prints_a_token_for_alice_and_bob(first_run):
    _, _, printed = first_run
    assert sorted(printed) == ["alice", "bob"]


def test_warns_loudly_about_the_development_secret(first_run):
    server, _, _ = first_run
    assert "DEVELOPMENT" in server.log().upper()


@pytest.mark.parametrize("name", ["alice", "bob"])
async def test_printed_token_connects_and_joins_show_1(name, first_run):
    server, _, printed = first_run
    user_id, token = printed[name]
    client = ChatClient(server.base_url)
    try:
        await client.connect(auth=token)
        connected = await client.wait_for("connected")
        assert connected["user_id"] == user_id and connected["username"] == name
        history, active = await client.join(1)
        assert history["show_id"] == 1
        assert user_id in [u["user_id"] for u in active["active_users"]]
    finally:
        await client.close()


def test_a_show_inserted_after_the_seed_gets_the_next_id(first_run):
    _, home, _ = first_run
    db = Database(f"sqlite:///{home / 'sharemyshows_rt.db'}")
    try:
        assert db.add_show().id == 2
    finally:
        db.dispose()


def test_development_mode_on_postgresql_seeds_show_1_and_leaves_the_sequence_right(
    postgres_admin_url, tmp_path
):
    """The demo show gets its id from the database: the next show inserted (without an
    id, as anyone would) does not collide with it on `pk_shows`."""
    with fresh_postgres(postgres_admin_url) as urls:
        env = clean_environment(SHAREMYSHOWS_ENV="development", DATABASE_URL=urls.server)
        migrated = run_cli("migrate", env=env)
        assert migrated.returncode == 0, migrated.stderr
        server = ServerProcess(env, tmp_path / "server.log")
        db = Database(urls.tests)
        try:
            server.start()
            assert "seeded demo show 1" in server.log()
            with db.engine.connect() as conn:
                shows = conn.execute(text("SELECT id, title FROM shows")).all()
            assert [tuple(show) for show in shows] == [(1, "Demo Show")]
            assert db.add_show().id == 2
        finally:
            server.stop()
            db.dispose()


async def test_token_command_without_configuration_matches_the_server(first_run):
    server, home, printed = first_run
    user_id, _ = printed["bob"]
    result = run_cli("token", str(user_id), env=clean_environment(), cwd=home)
    assert result.returncode == 0, result.stderr
    client = ChatClient(server.base_url)
    try:
        await client.connect(auth=result.stdout.strip())
        assert (await client.wait_for("connected"))["username"] == "bob"
    finally:
        await client.close()
