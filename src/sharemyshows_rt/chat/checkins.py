"""Check-in rows follow presence, written in the background in batches: joining and leaving
never wait for the database, and the rows end up in the order presence changed."""

from __future__ import annotations

import asyncio
import logging

from .. import metrics
from ..clock import utcnow
from ..db.repositories import CheckinRepository, CheckinState
from ..errors import ServiceUnavailable, from_exception
from ..tasks import cancel

log = logging.getLogger(__name__)
MAX_PENDING = 100_000
RETRY_SECONDS = (0.5, 1, 2, 5)


class CheckinRecorder:
    """One task writes what joins and leaves queued; a failed batch is retried, in order."""

    def __init__(self, repository: CheckinRepository) -> None:
        self._repository = repository
        # The latest state per (user, show): later changes replace earlier unwritten ones.
        self._pending: dict[tuple[int, int], CheckinState] = {}
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="checkin-recorder")

    def check_in(self, user_id: int, show_id: int) -> None:
        """The user's first connection joined the show."""
        now = utcnow()
        self._put(CheckinState(user_id, show_id, now, None))

    def check_out(self, user_id: int, show_id: int) -> None:
        """The user's last connection left the show."""
        key = (user_id, show_id)
        earlier = self._pending.get(key)
        now = utcnow()
        self._put(CheckinState(user_id, show_id, earlier.checked_in_at if earlier else now, now))

    def _put(self, state: CheckinState) -> None:
        key = (state.user_id, state.show_id)
        self._pending.pop(key, None)  # re-insert: dicts keep insertion order
        if len(self._pending) >= MAX_PENDING:
            dropped = next(iter(self._pending))
            del self._pending[dropped]
            log.error("check-in backlog full: the change for user/show %s is not recorded", dropped)
        self._pending[key] = state
        self._idle.clear()
        self._wake.set()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, self._pending = list(self._pending.values()), {}
            await self._write(batch)
            if not self._pending:
                self._idle.set()

    async def _write(self, batch: list[CheckinState]) -> None:
        for attempt, pause in enumerate((*RETRY_SECONDS, None)):
            failure = await self._record(batch)
            if failure is None:
                return
            if not unreachable(failure):
                # A row the database refuses (its user or show deleted meanwhile) must not
                # hold back the others: write them one by one.
                await self._write_each(batch)
                return
            if pause is None:
                break
            log.warning(
                "writing %d check-in change(s) failed (%r); retry %d in %ss",
                len(batch),
                failure,
                attempt + 1,
                pause,
            )
            await asyncio.sleep(pause)
        log.error("check-in changes still not written; keeping %d for later", len(batch))
        self._keep(batch)

    async def _write_each(self, batch: list[CheckinState]) -> None:
        kept = []
        for state in batch:
            failure = await self._record([state])
            if failure is None:
                continue
            if unreachable(failure):
                kept.append(state)
            else:
                log.error(
                    "check-in of user %d in show %d cannot be written, dropped: %r",
                    state.user_id,
                    state.show_id,
                    failure,
                )
        if kept:
            log.error("check-in changes still not written; keeping %d for later", len(kept))
            self._keep(kept)

    async def _record(self, batch: list[CheckinState]) -> Exception | None:
        """Write the batch; the exception when that failed."""
        try:
            with metrics.timed(metrics.DB_SECONDS, "checkins"):
                await self._repository.record(batch)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return exc
        return None

    def _keep(self, batch: list[CheckinState]) -> None:
        # Kept for the next round, unless newer changes replaced them meanwhile.
        for state in batch:
            self._pending.setdefault((state.user_id, state.show_id), state)
        self._wake.set()

    async def stop(self, timeout: float) -> None:
        """Write what is queued (waiting at most `timeout`), then end the task."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            log.error("%d check-in change(s) not written at shutdown", len(self._pending))
        await cancel(self._task)
        self._task = None


def unreachable(failure: Exception) -> bool:
    """True when the database could not be reached (worth retrying), not a refused row."""
    return isinstance(from_exception(failure), ServiceUnavailable)
