"""The server's database as the tests see it: created fresh, seeded and read directly with
sync SQLAlchemy, using only the contract's columns."""

import asyncio
import os
import secrets
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    insert,
    select,
    text,
)
from sqlalchemy.engine import Engine, make_url

from .settings import TIMEOUT

metadata = MetaData()
users = Table(
    "users", metadata, Column("id", Integer, primary_key=True), Column("username", String)
)
shows = Table("shows", metadata, Column("id", Integer, primary_key=True), Column("title", String))
show_checkins = Table(
    "show_checkins",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("user_id", Integer),
    Column("show_id", Integer),
    Column("checked_in_at", DateTime(timezone=True)),
    Column("checked_out_at", DateTime(timezone=True)),
)
chat_messages = Table(
    "chat_messages",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("show_id", Integer),
    Column("user_id", Integer),
    Column("message", Text),
    Column("created_at", DateTime(timezone=True)),
)


@dataclass(frozen=True)
class User:
    id: int
    username: str


@dataclass(frozen=True)
class Show:
    id: int
    title: str


@dataclass(frozen=True)
class DatabaseUrls:
    server: str  # DATABASE_URL for the service
    tests: str  # a sync SQLAlchemy URL for the tests themselves


def unique_name(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(5)}"


def sqlite_urls(path: Path) -> DatabaseUrls:
    return DatabaseUrls(f"sqlite+aiosqlite:///{path}", f"sqlite:///{path}")


def backend_urls(request, backend: str, workdir: Path, cleanup: ExitStack) -> DatabaseUrls:
    """A fresh, unmigrated database of `backend`: "sqlite", a file in `workdir`;
    "postgresql", a new database on the test server, dropped by `cleanup`."""
    if backend == "sqlite":
        return sqlite_urls(workdir / "sharemyshows.db")
    admin_url = request.getfixturevalue("postgres_admin_url")
    return cleanup.enter_context(fresh_postgres(admin_url))


def postgres_problem(admin_url: str) -> str | None:
    """Why the PostgreSQL server at `admin_url` cannot be used, or None when it answers."""
    engine = create_engine(
        make_url(admin_url).set(drivername="postgresql+psycopg"),
        connect_args={"connect_timeout": 3},
    )
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means: not usable, and says why
        return (
            f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
        )
    finally:
        engine.dispose()
    return None


@contextmanager
def fresh_postgres(admin_url: str) -> Iterator[DatabaseUrls]:
    """A uniquely named database on the server `admin_url` points at, dropped afterwards."""
    url = make_url(admin_url)
    name = f"sms_rt_test_{os.getpid()}_{secrets.token_hex(4)}"
    admin = create_engine(url.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield DatabaseUrls(
                server=url.set(drivername="postgresql", database=name).render_as_string(
                    hide_password=False
                ),
                tests=url.set(drivername="postgresql+psycopg", database=name).render_as_string(
                    hide_password=False
                ),
            )
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


class Database:
    """Seeds users, shows and messages into the contract's tables, and reads rows back."""

    def __init__(self, url: str):
        self.engine: Engine = create_engine(url)

    def add_user(self, username: str | None = None) -> User:
        username = username or unique_name("fan")
        with self.engine.begin() as conn:
            user_id = conn.execute(insert(users).values(username=username)).inserted_primary_key[0]
        return User(user_id, username)

    def add_show(self, title: str | None = None) -> Show:
        title = title or unique_name("Show")
        with self.engine.begin() as conn:
            show_id = conn.execute(insert(shows).values(title=title)).inserted_primary_key[0]
        return Show(show_id, title)

    def add_messages(
        self, show: Show, user: User, texts: list[str], *, start: datetime | None = None
    ) -> list[int]:
        """Insert messages one second apart (ending now unless `start` is given); their ids."""
        start = start or datetime.now(UTC) - timedelta(seconds=len(texts))
        rows = [
            {
                "show_id": show.id,
                "user_id": user.id,
                "message": message,
                "created_at": start + timedelta(seconds=index),
            }
            for index, message in enumerate(texts)
        ]
        with self.engine.begin() as conn:
            return [
                conn.execute(insert(chat_messages).values(**row)).inserted_primary_key[0]
                for row in rows
            ]

    def messages(self, show: Show) -> list:
        with self.engine.connect() as conn:
            return conn.execute(
                select(chat_messages)
                .where(chat_messages.c.show_id == show.id)
                .order_by(chat_messages.c.id)
            ).all()

    def message(self, message_id: int):
        with self.engine.connect() as conn:
            return conn.execute(
                select(chat_messages).where(chat_messages.c.id == message_id)
            ).first()

    def checkin(self, user: User, show: Show):
        """The user's show_checkins row for the show, or None (never more than one)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(show_checkins).where(
                    show_checkins.c.user_id == user.id, show_checkins.c.show_id == show.id
                )
            ).all()
        assert len(rows) <= 1, f"{len(rows)} show_checkins rows for user {user.id}, show {show.id}"
        return rows[0] if rows else None

    async def wait_for_checkin(
        self, user: User, show: Show, *, checked_out: bool, timeout: float = TIMEOUT
    ):
        """The check-in row once it exists with checked_out_at set (or clear), polled and
        bounded: no event reports this write."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            row = self.checkin(user, show)
            if row is not None and (row.checked_out_at is not None) == checked_out:
                return row
            if loop.time() > deadline:
                raise AssertionError(
                    f"after {timeout}s the check-in of user {user.id} in show {show.id} is {row}, "
                    f"expected checked_out_at {'set' if checked_out else 'NULL'}"
                )
            await asyncio.sleep(0.02)

    def dispose(self) -> None:
        self.engine.dispose()
