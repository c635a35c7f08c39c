"""What a connection may do: the names it may not send as events, how many events a second
before it is flooding, how many connections a user may hold, and which events a slow
reader loses first. The transport enforces these; it does not decide them."""

from __future__ import annotations

from dataclasses import dataclass

from .. import metrics
from ..backends.limits import ConnectionCap
from ..backends.memory.limits import TokenBucket
from ..errors import RateLimitExceeded, TooManyConnections
from ..schemas.limits import HISTORY_PAGE_MAX

# Names the Socket.IO protocol keeps for itself: a client may not send them as events.
RESERVED_EVENTS = frozenset(
    {"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"}
)
# Server events a connection that stopped reading loses first: each is soon outdated by the
# next, so dropping one hides nothing for long.
DROPPED_FIRST = frozenset({"user_typing"})


def flood_bucket(events_per_second: int, now: float) -> TokenBucket:
    """A connection's event budget: a second's worth at once, refilled at that rate; past it
    the connection is flooding and is disconnected."""
    return TokenBucket.full(events_per_second, events_per_second, now)


async def admit_connection(cap: ConnectionCap, user_id: int, sid: str, most: int) -> None:
    """Count the connection against the user's cap; TooManyConnections past `most`."""
    if not await cap.acquire(user_id, sid, most):
        metrics.RATE_LIMITED.labels("connections").inc()
        raise TooManyConnections(f"at most {most} connections per user")


def history_page_size(history_limit: int) -> int:
    """The page of history a client gets when it names no size: the join history's size,
    within 1..HISTORY_PAGE_MAX."""
    return max(1, min(history_limit, HISTORY_PAGE_MAX))


@dataclass(frozen=True, slots=True)
class Rates:
    """Per user and show: `send_message` (a token bucket) and `typing` (beyond: dropped);
    per user across shows: `send_message` (a second bucket, taken with the first)."""

    send_rate: float = 5.0
    send_burst: int = 10
    typing_rate: float = 2.0
    send_rate_user: float = 10.0
    send_burst_user: int = 20


def send_buckets(rates: Rates, user_id: int, show_id: int) -> list[tuple[str, float, int]]:
    """The buckets one `send_message` takes a token from, all or none: the user's in the
    show, and the user's across shows."""
    return [
        (f"send:{user_id}:{show_id}", rates.send_rate, rates.send_burst),
        (f"send:{user_id}", rates.send_rate_user, rates.send_burst_user),
    ]


def rate_limited(rates: Rates, wait: float) -> RateLimitExceeded:
    """The refusal of a send past either bucket, counted, with the seconds to wait."""
    metrics.RATE_LIMITED.labels("send").inc()
    return RateLimitExceeded(
        f"at most {rates.send_rate:g} messages a second in a show (bursts of "
        f"{rates.send_burst}) and {rates.send_rate_user:g} across shows (bursts of "
        f"{rates.send_burst_user})",
        wait,
    )
