"""Which shows exist, remembered for a while: joins and sends check the show every time."""

from __future__ import annotations

import time

from ..db.repositories import ShowRepository
from ..errors import ShowNotFound
from ..locks import SingleFlight

KNOWN_SHOW_SECONDS = 60.0  # shows are not deleted mid-show; remembering one saves a query
MAX_KNOWN_SHOWS = 100_000  # beyond: forgotten all at once, then learnt again


class KnownShows:
    """The shows seen to exist in the last KNOWN_SHOW_SECONDS; one lookup per show at a time."""

    def __init__(self, shows: ShowRepository) -> None:
        self._shows = shows
        self._seen: dict[int, float] = {}
        self._lookups = SingleFlight()

    async def require(self, show_id: int) -> None:
        """Raise ShowNotFound unless the show exists."""
        if self._known(show_id):
            return
        # One lookup per show at a time: a storm of joiners waits for it, not the pool.
        async with self._lookups.once(show_id) as looker:
            if not looker and self._known(show_id):
                return
            if not await self._shows.exists(show_id):
                raise ShowNotFound(f"there is no show {show_id}")
            if len(self._seen) > MAX_KNOWN_SHOWS:
                self._seen.clear()
            self._seen[show_id] = time.monotonic()

    def _known(self, show_id: int) -> bool:
        seen = self._seen.get(show_id)
        return seen is not None and time.monotonic() - seen < KNOWN_SHOW_SECONDS
