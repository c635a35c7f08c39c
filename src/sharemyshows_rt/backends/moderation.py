"""Moderation across processes: the channel that tells every process of a show's changed
bans, time-outs, slow mode and deletions, and the slow-mode gate a user's tabs share."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any

Change = dict[str, Any]
Apply = Callable[[Change], Awaitable[None]]


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
