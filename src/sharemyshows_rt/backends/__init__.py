"""Memory and Redis backends behind one interface (`base.Backend`), chosen once."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..config import Settings
    from .base import Backend


def open_backend(settings: Settings) -> Backend:
    """The backend the settings ask for: Redis when REDIS_URL is set, else memory."""
    if settings.redis_url:
        from .redis.backend import RedisBackend

        return RedisBackend(
            settings.redis_url,
            settings.redis_namespace,
            coalesce_seconds=settings.push_coalesce_seconds,
        )
    from .memory.backend import MemoryBackend

    return MemoryBackend(coalesce_seconds=settings.push_coalesce_seconds)
