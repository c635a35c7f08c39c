"""Push events in this process: the bounded queue alone."""

from __future__ import annotations

import logging

from ..events import Events, Handler

log = logging.getLogger(__name__)


class MemoryEvents(Events):
    async def run(self, handle: Handler) -> None:
        while True:
            batch = await self._drain_local()
            try:
                await handle(batch)
            except Exception:
                log.exception("push notifier failed on %d message(s)", len(batch))
