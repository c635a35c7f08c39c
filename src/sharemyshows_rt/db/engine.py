"""The async engine and session factory, tuned per backend."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def create_engine(url: URL, *, timeout: float = 5.0) -> AsyncEngine:
    """An engine for `url` (already carrying its async driver)."""
    if url.get_backend_name() == "sqlite":
        engine = create_async_engine(url, connect_args={"timeout": timeout})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(
        url,
        pool_size=10,
        max_overflow=10,
        pool_timeout=timeout,
        # A connection the server killed is noticed before use, not by the user's request.
        pool_pre_ping=True,
        connect_args={"timeout": timeout, "command_timeout": timeout},
    )


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets readers (REST, history) run beside the writer; foreign keys are off by default.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded rows usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)
