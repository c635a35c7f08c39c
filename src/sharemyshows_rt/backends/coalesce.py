"""Push coalescing, the interface: at most one notification per user per show per window;
the first goes out at once, the ones that follow in the window are folded into one sent when
it ends. Kept in memory for one process, in Redis for several (each fold sent by one)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Folded:
    """Messages folded during a window that has ended: send one notification for them."""

    user_id: int
    show_id: int
    count: int
    last: dict[str, Any]


# A fold's `last` may carry `ids`, the folded messages' ids: folds join them (the newest
# MAX_FOLDED_IDS), so that messages deleted before the fold is sent are left out of it.
MAX_FOLDED_IDS = 100


def joined(earlier: dict[str, Any] | None, last: dict[str, Any]) -> dict[str, Any]:
    """`last`, its `ids` after those of the fold so far."""
    if earlier is None or "ids" not in last or "ids" not in earlier:
        return last
    return {**last, "ids": (earlier["ids"] + last["ids"])[-MAX_FOLDED_IDS:]}


class Coalescer(ABC):
    @abstractmethod
    async def offer(
        self, user_id: int, show_id: int, count: int, last: dict[str, Any], now: float
    ) -> bool:
        """`count` new messages for the user: True to notify now, False when folded."""

    @abstractmethod
    async def due(self, now: float) -> list[Folded]:
        """Claim the folds whose window has ended (each is returned to one caller only)."""
