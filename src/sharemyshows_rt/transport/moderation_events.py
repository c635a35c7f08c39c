"""The moderation events' thin handlers: payload model -> moderation rule -> ack."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ..chat.auth import Identity
from ..chat.moderation import Moderation
from ..schemas.inbound import Incoming
from ..schemas.moderation import BanUser, DeleteMessage, SetSlowMode, TimeoutUser, UnbanUser

Ack = dict[str, Any]
Handler = Callable[[str, Any], Awaitable[Ack]]


def moderation_events(
    moderation: Moderation, identity: Callable[[str], Identity]
) -> dict[str, tuple[type[Incoming], Handler]]:
    """The event table's moderation entries, for the connection whose identity is given."""

    async def delete_message(sid: str, p: DeleteMessage) -> Ack:
        await moderation.delete_message(identity(sid), p.show_id, p.message_id, p.reason)
        return {"ok": True, "show_id": p.show_id, "message_id": p.message_id}

    async def timeout_user(sid: str, p: TimeoutUser) -> Ack:
        until = await moderation.timeout(identity(sid), p.show_id, p.user_id, p.seconds, p.reason)
        return {"ok": True, "show_id": p.show_id, "user_id": p.user_id, "until": until}

    async def ban_user(sid: str, p: BanUser) -> Ack:
        purged = await moderation.ban(identity(sid), p.show_id, p.user_id, p.purge, p.reason)
        return {
            "ok": True,
            "show_id": p.show_id,
            "user_id": p.user_id,
            "banned": True,
            "purged": purged,
        }

    async def unban_user(sid: str, p: UnbanUser) -> Ack:
        await moderation.unban(identity(sid), p.show_id, p.user_id, p.reason)
        return {
            "ok": True,
            "show_id": p.show_id,
            "user_id": p.user_id,
            "banned": False,
            "purged": 0,
        }

    async def set_slow_mode(sid: str, p: SetSlowMode) -> Ack:
        await moderation.set_slow_mode(identity(sid), p.show_id, p.seconds, p.reason)
        return {"ok": True, "show_id": p.show_id, "seconds": p.seconds}

    return {
        "delete_message": (DeleteMessage, delete_message),
        "timeout_user": (TimeoutUser, timeout_user),
        "ban_user": (BanUser, ban_user),
        "unban_user": (UnbanUser, unban_user),
        "set_slow_mode": (SetSlowMode, set_slow_mode),
    }
