"""`migrate`: creates the contract's tables, and may run again (idempotent)."""

import secrets

import pytest
from sqlalchemy import inspect
from support.database import Database, fresh_postgres, sqlite_urls
from support.server import run_cli
from support.settings import clean_environment

TABLES = {"users", "shows", "show_checkins", "chat_messages"}


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_database(request, tmp_path):
    if request.param == "sqlite":
        yield sqlite_urls(tmp_path / "migrated.db")
    else:
        with fresh_postgres(request.getfixturevalue("postgres_admin_url")) as urls:
            yield urls


def test_migrate_twice_is_idempotent(fresh_database, tmp_path):
    env = clean_environment(
        DATABASE_URL=fresh_database.server, JWT_SECRET_KEY=secrets.token_urlsafe(32)
    )
    for attempt in ("first", "second"):
        result = run_cli("migrate", env=env, cwd=tmp_path)
        assert result.returncode == 0, f"{attempt} migrate failed:\n{result.stderr}"
        assert "Traceback" not in result.stderr
    db = Database(fresh_database.tests)
    try:
        assert TABLES <= set(inspect(db.engine).get_table_names())
        fan, show = db.add_user(), db.add_show()  # only the contract's columns are needed
        db.add_messages(show, fan, ["after migrating"])
        assert [row.message for row in db.messages(show)] == ["after migrating"]
    finally:
        db.dispose()


def test_migrate_keeps_existing_rows(fresh_database, tmp_path):
    env = clean_environment(
        DATABASE_URL=fresh_database.server, JWT_SECRET_KEY=secrets.token_urlsafe(32)
    )
    assert run_cli("migrate", env=env, cwd=tmp_path).returncode == 0
    db = Database(fresh_database.tests)
    try:
        fan, show = db.add_user(), db.add_show()
        db.add_messages(show, fan, ["keep me"])
        assert run_cli("migrate", env=env, cwd=tmp_path).returncode == 0
        assert [row.message for row in db.messages(show)] == ["keep me"]
    finally:
        db.dispose()
