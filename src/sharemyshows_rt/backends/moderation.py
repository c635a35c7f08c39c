"""Moderation across processes: the channel that tells every process of a show's changed
bans, time-outs, slow mode and deletions, and the slow-mode gate a user's tabs share."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any

Change = dict[str, Any]
Apply = Callable[[Change], Awaitable[None]]
# Sent by a channel to its own process when it may have missed changes (its subscription
# was lost): the standing state is read again from the database.
RELOAD: Change = {"show_id": 0, "kind": "reload"}


class ModerationChannel(ABC):
    """Changes published by one process are applied by every other one (the publisher
    applies its own change itself, before publishing)."""

    @abstractmethod
    async def publish(self, change: Change) -> None:
        """Tell the other processes of `change` (a JSON object with `show_id` and `kind`)."""

    @abstractmethod
    async def start(self, apply: Apply) -> None:
        """Start applying the other processes' changes with `apply`."""

    async def stop(self) -> None:
        """Stop listening."""


class SlowGate(ABC):
    """One message per window per user and show, counted across the user's connections."""

    @abstractmethod
    async def claim(self, key: str, seconds: float) -> float:
        """Take the window starting now: 0.0 when allowed, else the seconds still to wait."""

    @abstractmethod
    async def seed(self, key: str, remaining: float) -> None:
        """Start a window that ends in `remaining` seconds, unless one is running (the
        user's last stored message, read once from the database)."""

    @abstractmethod
    async def release(self, key: str) -> None:
        """Give back a window just claimed: the send it was claimed for was refused (the
        rate limits) or not stored, and a refused send does not start the window."""
