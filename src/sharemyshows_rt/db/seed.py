"""A demo show and two demo users, so that a first run has someone to chat as."""

from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from .models import Show, User
from .repositories import UserRecord, UserRepository, is_empty

# No explicit id: PostgreSQL's sequence would stay behind it, and the next show inserted
# would collide with it. On an empty database the first id assigned is 1.
DEMO_SHOW = {"title": "Demo Show"}
DEMO_USERNAMES = ("alice", "bob")


async def seed_demo(engine: AsyncEngine) -> bool:
    """Insert the demo show and users into an empty database; True when it did."""
    if not await is_empty(engine):
        return False
    async with engine.begin() as conn:
        await conn.execute(insert(Show).values(**DEMO_SHOW))
        await conn.execute(insert(User), [{"username": name} for name in DEMO_USERNAMES])
    return True


async def demo_users(engine: AsyncEngine) -> list[UserRecord]:
    """The demo users that exist (for printing their tokens)."""
    users = UserRepository(engine)
    found = [await users.by_username(name) for name in DEMO_USERNAMES]
    return [user for user in found if user is not None]
