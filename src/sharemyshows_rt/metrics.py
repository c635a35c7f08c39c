"""Prometheus metrics: what operators watch. Labels are bounded: event names and error
messages come from fixed sets, and per-show gauges cover the biggest shows only."""

from __future__ import annotations

import functools
import hmac
import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector

from .errors import ChatError

disable_created_metrics()  # the *_created series only double the scrape
KNOWN_EVENTS = frozenset(
    {
        "join_show",
        "leave_show",
        "send_message",
        "typing",
        "get_active_users",
        "get_message_history",
        "mute_show",
        "unmute_show",
    }
)
TOP_SHOWS = 20
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)

CONNECTIONS = Gauge("sharemyshows_connections", "Open Socket.IO connections on this process")
MESSAGES_STORED = Counter("sharemyshows_messages_stored_total", "Chat messages stored")
MESSAGES_DELIVERED = Counter(
    "sharemyshows_messages_delivered_total",
    "new_message events handed to this process's connections",
)
EVENTS = Counter("sharemyshows_events_received_total", "Client events received", ["event"])
ERRORS = Counter("sharemyshows_errors_total", "Errors reported to clients", ["message"])
HANDLER_SECONDS = Histogram(
    "sharemyshows_handler_seconds",
    "Time to handle a client event",
    ["event"],
    buckets=LATENCY_BUCKETS,
)
RATE_LIMITED = Counter(
    "sharemyshows_rate_limited_total", "Requests refused or dropped by limits", ["limit"]
)
DB_SECONDS = Histogram(
    "sharemyshows_db_seconds", "Database round trips", ["operation"], buckets=LATENCY_BUCKETS
)
PUSHES = Counter(
    "sharemyshows_push_total",
    "Web Push outcomes: sent, failed, dropped, subscription_removed, deferred",
    ["outcome"],
)
REDIS_SECONDS = Histogram(
    "sharemyshows_redis_seconds", "Redis round trips", ["operation"], buckets=LATENCY_BUCKETS
)


@functools.cache
def labelled(metric: Counter | Histogram, label: str) -> Any:
    """`metric.labels(label)`, looked up once: labels are bounded, and each lookup takes a
    lock and builds a key on every event."""
    return metric.labels(label)


def event_label(event: str) -> str:
    return event if event in KNOWN_EVENTS else "other"


def count_error(error: ChatError) -> None:
    ERRORS.labels(error.message).inc()


class timed:
    """`with timed(histogram, operation):` observes the time spent inside, also when it
    raises. A class, not a generator: it wraps every client event."""

    __slots__ = ("_child", "_start")

    def __init__(self, histogram: Histogram, operation: str) -> None:
        self._child = labelled(histogram, operation)
        self._start = 0.0

    def __enter__(self) -> None:
        self._start = time.perf_counter()

    def __exit__(self, *_exc: object) -> None:
        self._child.observe(time.perf_counter() - self._start)


class ShowMembers(Collector):
    """`sharemyshows_show_connections{show_id}` for the largest rooms on this process."""

    def __init__(self, room_sizes: Callable[[], dict[int, int]]) -> None:
        self._room_sizes = room_sizes

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "sharemyshows_show_connections",
            f"Connections in a show's room on this process (top {TOP_SHOWS})",
            labels=["show_id"],
        )
        sizes = sorted(self._room_sizes().items(), key=lambda item: item[1], reverse=True)
        for show_id, size in sizes[:TOP_SHOWS]:
            family.add_metric([str(show_id)], size)
        yield family


_show_members: ShowMembers | None = None


def watch_rooms(room_sizes: Callable[[], dict[int, int]]) -> None:
    """Report the room sizes of this process's (latest) app."""
    global _show_members
    if _show_members is not None:
        REGISTRY.unregister(_show_members)
    _show_members = ShowMembers(room_sizes)
    REGISTRY.register(_show_members)


def authorized(authorization: str, token: str | None) -> bool:
    """Whether an `Authorization` header may read the metrics: anyone without METRICS_TOKEN,
    else only `Bearer <METRICS_TOKEN>` (compared in constant time)."""
    if token is None:
        return True
    scheme, _, presented = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        presented.strip().encode(), token.encode()
    )


def exposition() -> tuple[bytes, str]:
    """The current metrics in Prometheus's text format, and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
