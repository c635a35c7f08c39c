"""One gate per push service origin: a bounded share of the sender's concurrent requests,
and a breaker that backs the whole origin off when it keeps timing out or refusing
connections, so that one push service in trouble never holds up the others."""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger(__name__)
MAX_BACKOFF = 300.0  # seconds: the longest an origin is left alone
MAX_IDLE_GATES = 1024  # gates kept for origins with nothing in flight


class OriginGate:
    def __init__(self, origin: str, concurrency: int, failures: int, backoff: float) -> None:
        self.origin = origin
        self._slots = asyncio.Semaphore(concurrency)
        self._users = 0  # deliveries waiting for or holding one of the slots
        self._threshold = failures
        self._first_backoff = backoff
        self._backoff = backoff
        self._consecutive = 0
        self._open_until = 0.0

    def closed_for(self, now: float) -> float:
        """Seconds until the origin may be tried again (0: now)."""
        return max(0.0, self._open_until - now)

    @property
    def idle(self) -> bool:
        return self._users == 0 and self._consecutive == 0

    async def __aenter__(self) -> OriginGate:
        """One of the origin's slots (waiting for it holds nothing else)."""
        self._users += 1
        try:
            await self._slots.acquire()
        except BaseException:
            self._users -= 1
            raise
        return self

    async def __aexit__(self, *_: object) -> None:
        self._slots.release()
        self._users -= 1

    def answered(self) -> None:
        """The push service answered (whatever it said): it is reachable."""
        self._consecutive = 0
        self._backoff = self._first_backoff

    def unreachable(self, now: float) -> None:
        """A timeout or refused connection; the threshold in a row backs the origin off,
        and each failure after a back-off (before an answer) backs it off twice as long."""
        self._consecutive += 1
        if self._consecutive < self._threshold or now < self._open_until:
            return
        self._open_until = now + self._backoff
        log.warning(
            "push service %s keeps failing (%d in a row): left alone for %.0fs",
            self.origin,
            self._consecutive,
            self._backoff,
        )
        self._backoff = min(self._backoff * 2, MAX_BACKOFF)


class OriginGates:
    def __init__(self, concurrency: int, failures: int, backoff: float) -> None:
        self._concurrency = concurrency
        self._failures = failures
        self._backoff = backoff
        self._gates: dict[str, OriginGate] = {}

    def gate(self, origin: str) -> OriginGate:
        gate = self._gates.get(origin)
        if gate is None:
            if len(self._gates) >= MAX_IDLE_GATES:
                self._gates = {key: kept for key, kept in self._gates.items() if not kept.idle}
            gate = self._gates[origin] = OriginGate(
                origin, self._concurrency, self._failures, self._backoff
            )
        return gate
