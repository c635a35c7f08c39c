"""Id order, once each: which messages of a show this process has delivered."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

RECENT_IDS = 256  # per show, to deliver a message once even if it comes twice


@dataclass(slots=True)
class Recent:
    """A show's newest delivered ids here, and the newest id its members have."""

    last_id: int = 0
    ids: deque[int] = field(default_factory=lambda: deque(maxlen=RECENT_IDS))
    seen: set[int] = field(default_factory=set)

    def add(self, message_id: int) -> bool:
        """Remember the id; False when it was delivered before."""
        if message_id in self.seen:
            return False
        if len(self.ids) == self.ids.maxlen:
            self.seen.discard(self.ids[0])
        self.ids.append(message_id)
        self.seen.add(message_id)
        self.last_id = max(self.last_id, message_id)
        return True
