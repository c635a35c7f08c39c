"""`sharemyshows-rt moderators add|remove|list SHOW_ID [USER_ID]`: a show's moderators."""

from __future__ import annotations

import argparse
import asyncio

from .config import Settings

MAX_ID = 2**31 - 1


class BadInput(Exception):
    """The command's one line for the operator (exit 2)."""


def add_parser(commands) -> argparse.ArgumentParser:
    """The `moderators` subcommand; ids are checked by the command, in one line each."""
    parser = commands.add_parser("moderators", help="add, remove or list a show's moderators")
    parser.add_argument("action", choices=["add", "remove", "list"])
    parser.add_argument("show_id", metavar="SHOW_ID")
    parser.add_argument("user_id", nargs="?", metavar="USER_ID")
    return parser


def run(settings: Settings, args: argparse.Namespace) -> list[str]:
    """The lines to print; BadInput for a bad id, an unknown show or user."""
    show_id = _id(args.show_id, "SHOW_ID")
    user_id = None
    if args.action == "list":
        if args.user_id is not None:
            raise BadInput("moderators list takes only SHOW_ID")
    else:
        if args.user_id is None:
            raise BadInput(f"moderators {args.action} needs SHOW_ID and USER_ID")
        user_id = _id(args.user_id, "USER_ID")
    return asyncio.run(_run(settings, args.action, show_id, user_id))


def _id(text: str, name: str) -> int:
    if not text.isdecimal() or not 0 < int(text) <= MAX_ID:
        raise BadInput(f"{name} must be a whole number from 1 to {MAX_ID}, not {text!r}")
    return int(text)


async def _run(settings: Settings, action: str, show_id: int, user_id: int | None) -> list[str]:
    from .clock import isoformat_z, utcnow
    from .db.engine import create_engine
    from .db.moderation import ModerationRepository
    from .db.repositories import ShowRepository, UserRepository

    engine = create_engine(settings.sqlalchemy_url, timeout=settings.db_timeout)
    try:
        if not await ShowRepository(engine).exists(show_id):
            raise BadInput(f"there is no show {show_id}")
        moderators = ModerationRepository(engine)
        if action == "list":
            rows = await moderators.moderators(show_id)
            return [f"{user}\t{name}\t{isoformat_z(at)}" for user, name, at in rows]
        assert user_id is not None
        user = (await UserRepository(engine).get_many([user_id])).get(user_id)
        if user is None:
            raise BadInput(f"there is no user {user_id}")
        if action == "add":
            added = await moderators.add_moderator(show_id, user_id, utcnow())
            state = "now moderates" if added else "already moderated"
        else:
            removed = await moderators.remove_moderator(show_id, user_id)
            state = "no longer moderates" if removed else "did not moderate"
        return [f"user {user_id} ({user.username}) {state} show {show_id}"]
    finally:
        await engine.dispose()
