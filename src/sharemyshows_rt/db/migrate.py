"""Alembic, driven from the command line: upgrade to head, and check a database is current."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from alembic import command

_PACKAGE = Path(__file__).resolve().parent.parent


def script_location() -> Path:
    """The migrations: shipped inside the wheel, or at the root of a source checkout."""
    for candidate in (_PACKAGE / "_alembic", _PACKAGE.parent.parent / "alembic"):
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError("the Alembic migrations are missing from this installation")


def alembic_config(url: URL) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location()))
    config.attributes["database_url"] = url
    return config


def upgrade(url: URL) -> None:
    """Apply every migration not yet applied (a no-op on a current database)."""
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), "head")


async def pending(engine: AsyncEngine, url: URL) -> bool:
    """True when the database is behind the newest migration."""
    heads = set(ScriptDirectory.from_config(alembic_config(url)).get_heads())
    async with engine.connect() as conn:
        current = await conn.run_sync(
            lambda sync: set(MigrationContext.configure(sync).get_current_heads())
        )
    return current != heads
