"""Moderation set-ups: moderators seeded in the database, and acked moderation events."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text


def add_moderator(db, show, user) -> None:
    with db.engine.begin() as conn:
        conn.execute(
            text("INSERT INTO show_moderators (show_id, user_id, added_at) VALUES (:s, :u, :t)"),
            {"s": show.id, "u": user.id, "t": datetime.now(UTC)},
        )


def audit(db, show) -> list:
    with db.engine.connect() as conn:
        return conn.execute(
            text("SELECT * FROM moderation_actions WHERE show_id = :s ORDER BY id"), {"s": show.id}
        ).all()


async def act(client, event: str, payload: dict[str, Any]) -> dict:
    """A moderation event, acknowledged (ok or not)."""
    ack = await client.call(event, payload)
    assert isinstance(ack, dict), ack
    return ack


def ok(ack: dict) -> dict:
    assert ack.get("ok") is True, f"expected ok: {ack!r}"
    return ack


def refused(ack: dict, message: str) -> dict:
    assert ack.get("ok") is False, f"expected a refusal: {ack!r}"
    assert ack["error"]["message"] == message, ack
    return ack["error"]


def deletion(db, message_id: int):
    """(deleted_at, deleted_by) of a stored message."""
    with db.engine.connect() as conn:
        return conn.execute(
            text("SELECT deleted_at, deleted_by FROM chat_messages WHERE id = :m"),
            {"m": message_id},
        ).one()
