"""Muting a show's push notifications, for the socket and REST alike."""

from __future__ import annotations

from ..push.service import PushService
from .service import ChatService


async def set_muted(
    chat: ChatService, push: PushService, user_id: int, show_id: int, muted: bool
) -> None:
    """Mute (or unmute) the show for the user; only a show that exists (ShowNotFound)."""
    await chat.require_show(show_id)
    if muted:
        await push.mute(user_id, show_id)
    else:
        await push.unmute(user_id, show_id)
