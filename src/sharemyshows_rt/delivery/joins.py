"""Gap-free joins: a joiner's history, read from the database, and the live messages after
it meet with no gap and no repeat."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from ..db.repositories import StoredMessage
from ..schemas import message_payload

Payload = dict[str, Any]
Deliver = Callable[[list[Payload], bool], Awaitable[None]]
Attach = Callable[
    ["Ticket", str | None, list[StoredMessage], int, "Deliver | None", int, bool], Awaitable[bool]
]
# Messages remembered for joiners still reading history; past this they simply read again.
MAX_REMEMBERED = 5000


@dataclass(slots=True)
class Joins:
    """Joins of one show in progress, and what was delivered while they read history."""

    count: int = 0
    delivered: list[tuple[int, int, Payload]] = field(default_factory=list)
    overflowed_at: int = -1  # sequence number at which `delivered` was given up


class Ticket:
    """One join in progress: attach with the history read after the ticket was taken."""

    def __init__(self, attach: Attach, show_id: int, mark: int) -> None:
        self._attach = attach
        self.show_id = show_id
        self.mark = mark  # deliveries made by this process before the ticket was taken

    async def attach(
        self,
        sid: str,
        history: list[StoredMessage],
        limit: int,
        deliver: Deliver,
        *,
        after_id: int = 0,
        has_more: bool = False,
    ) -> bool:
        """Enter the room and `deliver` the history (messages after `after_id`; `has_more`:
        older ones exist), completed with what was delivered since the ticket was taken, at
        most `limit` of the newest. False, with nothing done, when what was delivered since
        is no longer known: read again."""
        return await self._attach(self, sid, history, limit, deliver, after_id, has_more)


class JoinBook:
    """Joins in progress per show, and joiners whose history is ahead of the deliveries.
    The feed's delivery records into `joins` inline, under the feed's lock."""

    def __init__(self) -> None:
        self.joins: dict[int, Joins] = {}
        # Joiners whose history holds messages committed but not yet delivered: sid -> newest id.
        self.holding: dict[int, dict[str, int]] = {}

    def enter(self, show_id: int) -> None:
        """A join of the show starts: remember what is delivered until it attaches."""
        joins = self.joins.get(show_id)
        if joins is None:
            joins = self.joins[show_id] = Joins()
        joins.count += 1

    def leave(self, show_id: int) -> None:
        joins = self.joins[show_id]
        joins.count -= 1
        if joins.count == 0:
            del self.joins[show_id]

    def completed(
        self, ticket: Ticket, history: list[StoredMessage], after_id: int
    ) -> tuple[list[Payload], int] | None:
        """The history's payloads followed by what was delivered since the ticket and is
        newer, and the newest id among them; None when that is no longer known."""
        joins = self.joins[ticket.show_id]
        if joins.overflowed_at > ticket.mark:
            return None
        newest = max(history[-1].id if history else 0, after_id)
        payloads = [message_payload(message) for message in history]
        for sequence, message_id, payload in joins.delivered:
            if sequence > ticket.mark and message_id > newest:
                payloads.append(payload)
                newest = message_id
        return payloads, newest

    def hold(self, show_id: int, sid: str, newest: int) -> None:
        """The joiner has messages up to `newest` that are still on their way to the room."""
        self.holding.setdefault(show_id, {})[sid] = newest

    def skip(self, show_id: int, message_id: int) -> list[str] | None:
        """The joiners that have this message already (delivered in id order)."""
        holding = self.holding.get(show_id)
        if not holding:
            return None
        skip = [sid for sid, newest in holding.items() if newest >= message_id]
        for sid, newest in list(holding.items()):
            if newest <= message_id:
                del holding[sid]
        if not holding:
            del self.holding[show_id]
        return skip

    def forget(self, sid: str, show_id: int) -> None:
        """The connection left the show."""
        holding = self.holding.get(show_id)
        if holding is not None:
            holding.pop(sid, None)
            if not holding:
                del self.holding[show_id]
