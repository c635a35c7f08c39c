"""Group commit: messages of concurrent senders are stored in one transaction, then
published in id order; each sender is answered only after the commit."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from .. import metrics
from ..db.repositories import MessageDraft, MessageRepository, StoredMessage
from ..errors import ServiceUnavailable, from_exception
from ..schemas import message_payload
from ..tasks import cancel
from .feed import ShowFeed

log = logging.getLogger(__name__)
Payload = dict[str, Any]
Outcome = asyncio.Future[tuple[Payload, bool]]  # a draft's payload, and whether it created it


class MessageWriter:
    """One task that drains a bounded queue: insert a batch, commit, publish, answer."""

    def __init__(
        self,
        repository: MessageRepository,
        feed: ShowFeed,
        *,
        max_batch: int = 1024,
        max_pending: int = 10_000,
        timeout: float = 5.0,
        on_stored: Callable[[StoredMessage], None] | None = None,
    ) -> None:
        self._repository = repository
        self._feed = feed
        self._on_stored = on_stored
        # Large: a show's messages in one batch reach each member in one write, and a batch
        # this size still commits in one short transaction.
        self._max_batch = max_batch
        self._timeout = timeout
        self._queue: asyncio.Queue[tuple[MessageDraft, Outcome]] = asyncio.Queue(max_pending)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="message-writer")

    async def stop(self) -> None:
        """Store and publish what is queued, then end the task."""
        if self._task is None:
            return
        await self._queue.join()
        await cancel(self._task)
        self._task = None

    async def flush(self, timeout: float) -> None:
        """Wait (at most `timeout`) until everything queued is stored and answered."""
        try:
            await asyncio.wait_for(self._queue.join(), timeout)
        except TimeoutError:
            log.error(
                "%d message(s) still waiting to be stored after %.0fs", self._queue.qsize(), timeout
            )

    async def store(self, draft: MessageDraft) -> tuple[Payload, bool]:
        """Store the message and publish it to its show; returns its payload once both are
        done, and whether this draft created it (False: a retry, answered with the original)."""
        if self._task is None or self._task.done():
            raise ServiceUnavailable("the message writer is not running")
        future: Outcome = asyncio.get_running_loop().create_future()
        try:
            self._queue.put_nowait((draft, future))
        except asyncio.QueueFull:
            raise ServiceUnavailable("too many messages waiting to be stored") from None
        return await future

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._write(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _write(self, batch: list[tuple[MessageDraft, Outcome]]) -> None:
        failure = await self._store_and_publish(batch)
        if failure is None:
            return
        error = from_exception(failure)
        if len(batch) > 1 and not isinstance(error, ServiceUnavailable):
            # One draft the database refuses must not fail the others: store them one by one.
            for item in batch:
                await self._write([item])
            return
        log.error("storing %d message(s) failed: %r", len(batch), failure)
        for _, future in batch:
            if not future.done():
                future.set_exception(error)

    async def _store_and_publish(
        self, batch: list[tuple[MessageDraft, Outcome]]
    ) -> Exception | None:
        """Store the batch, publish it and answer its senders; the exception if storing failed
        (then nobody was answered and nothing published)."""
        drafts = [draft for draft, _ in batch]
        # Across processes, a show's messages are stored and published one batch at a time,
        # so that every process delivers them in id order.
        async with self._feed.ordered(sorted({draft.show_id for draft in drafts})):
            try:
                async with asyncio.timeout(self._timeout):
                    with metrics.timed(metrics.DB_SECONDS, "store_messages"):
                        saved = await self._repository.add_many(drafts)
            except Exception as exc:  # nobody is told it was stored
                return exc
            # Each message's payload is built once: for its broadcast and its sender's ack.
            payloads = {s.message.id: message_payload(s.message) for s in saved}
            # A retry of a stored message is answered with the original, and not sent again.
            fresh = sorted((s.message for s in saved if s.created), key=lambda message: message.id)
            metrics.MESSAGES_STORED.inc(len(fresh))
            try:
                await self._feed.publish([payloads[message.id] for message in fresh])
            except Exception:
                # Stored is stored: the senders are answered; readers catch up from history.
                log.exception("publishing %d stored message(s) failed", len(fresh))
            if self._on_stored is not None:
                for message in fresh:
                    self._on_stored(message)
        for (_, future), outcome in zip(batch, saved):
            if not future.done():
                future.set_result((payloads[outcome.message.id], outcome.created))
        return None
