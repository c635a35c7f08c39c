"""DATABASE_URL: parsed, and given the async driver the contract names for its backend."""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError


def async_url(raw: str) -> URL:
    """Parse a database URL and pick the async driver the contract names for its backend."""
    try:
        url = make_url(raw.strip())
    except ArgumentError:
        raise ValueError(f"cannot parse {raw!r} as a database URL") from None
    backend, _, driver = url.drivername.partition("+")
    if backend in ("postgres", "postgresql"):
        if driver not in ("", "asyncpg"):
            raise ValueError(f"PostgreSQL is served through asyncpg, not {driver!r}")
        query = dict(url.query)
        # libpq's sslmode (common in hosted URLs) is asyncpg's ssl.
        if "sslmode" in query:
            query["ssl"] = query.pop("sslmode")
        return url.set(drivername="postgresql+asyncpg", query=query)
    if backend == "sqlite":
        if driver not in ("", "aiosqlite"):
            raise ValueError(f"SQLite is served through aiosqlite, not {driver!r}")
        return url.set(drivername="sqlite+aiosqlite")
    raise ValueError(f"unsupported database {backend!r}: use postgresql:// or sqlite://")
