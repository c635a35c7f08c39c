"""Background tasks: ending them the same way everywhere."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable


async def cancel(*tasks: asyncio.Task | None) -> None:
    """Cancel the tasks and wait until they have ended (their cancellation is expected)."""
    await cancel_all(tasks)


async def cancel_all(tasks: Iterable[asyncio.Task | None]) -> None:
    running = [task for task in tasks if task is not None]
    for task in running:
        task.cancel()
    await asyncio.gather(*running, return_exceptions=True)
