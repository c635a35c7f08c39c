"""Time: always UTC and timezone-aware inside, formatted in exactly one way outside."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def utcnow() -> datetime:
    """Now, in UTC, to the millisecond (the precision JavaScript's Date keeps)."""
    # From whole milliseconds, not by truncating now(): every message takes a timestamp. A
    # float of whole milliseconds lands on its microsecond exactly (a double keeps 10^-7 s).
    return datetime.fromtimestamp(time.time_ns() // 1_000_000 / 1000, UTC)


def as_utc(moment: datetime) -> datetime:
    """A stored timestamp as aware UTC (SQLite hands back naive datetimes, written in UTC)."""
    zone = moment.tzinfo
    if zone is UTC:
        return moment
    if zone is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def isoformat_z(moment: datetime) -> str:
    """ISO 8601 in UTC ending in `Z`, with milliseconds: `2024-11-16T20:25:45.123Z`."""
    # isoformat, not strftime: every message's payload has one, and this is the cheaper.
    return as_utc(moment).isoformat(timespec="milliseconds")[:-6] + "Z"
