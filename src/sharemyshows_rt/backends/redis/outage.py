"""The one rule for a Redis outage: the chat carries on with this process's own view
(presence, rate buckets, connection slots), says so now and then, and Redis is brought
up to date once it answers again."""

from __future__ import annotations

import logging

from ...logs import now_and_then

log = logging.getLogger(__name__)


class LocalWhileDown:
    """Base of the Redis implementations whose answers this process can stand in for."""

    # What this process keeps while Redis is away, for the log ("presence", "rate limits").
    kept_here = "state"

    def _carry_on_locally(self, exc: Exception) -> None:
        """Redis did not answer: the caller answers from its own view instead."""
        now_and_then(
            log,
            type(self).__name__,
            "%s kept in this process: Redis unreachable (%r)",
            self.kept_here,
            exc,
        )
        self._redis_was_down()

    def _redis_was_down(self) -> None:
        """What to put right once Redis answers again (nothing by default)."""
