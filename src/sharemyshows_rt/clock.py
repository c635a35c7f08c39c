"""Time: always UTC and timezone-aware inside, formatted in exactly one way outside."""

from __future__ import annotations

from datetime import datetime, timezone


def utcnow() -> datetime:
    """Now, in UTC, to the millisecond (the precision JavaScript's Date keeps)."""
    now = datetime.now(timezone.utc)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def as_utc(moment: datetime) -> datetime:
    """A stored timestamp as aware UTC (SQLite hands back naive datetimes, written in UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def isoformat_z(moment: datetime) -> str:
    """ISO 8601 in UTC ending in `Z`, with milliseconds: `2024-11-16T20:25:45.123Z`."""
    moment = as_utc(moment)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
