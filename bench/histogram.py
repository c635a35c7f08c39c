"""Latency histograms that merge across processes: logarithmic buckets 1% wide."""

from __future__ import annotations

import math

_K = 1.0 / math.log(1.01)  # buckets per e-fold: each bucket is 1% wide
_SIZE = 2200  # up to e^(2200/_K) us ~ 3e9 us (50 minutes)
_log = math.log


class Histogram:
    """Counts of latencies in microseconds; exact count, sum, min and max."""

    __slots__ = ("counts", "count", "total", "low", "high")

    def __init__(self) -> None:
        self.counts = [0] * _SIZE
        self.count = 0
        self.total = 0.0
        self.low = math.inf
        self.high = 0.0

    def add(self, us: float) -> None:
        if us < 0:
            us = 0.0
        index = int(_log(us + 1.0) * _K)
        self.counts[index if index < _SIZE else _SIZE - 1] += 1
        self.count += 1
        self.total += us
        if us > self.high:
            self.high = us
        if us < self.low:
            self.low = us

    def merge(self, other: Histogram | dict) -> None:
        if isinstance(other, dict):
            other = Histogram.from_dict(other)
        if not other.count:
            return
        counts = self.counts
        for index, n in enumerate(other.counts):
            if n:
                counts[index] += n
        self.count += other.count
        self.total += other.total
        self.high = max(self.high, other.high)
        self.low = min(self.low, other.low)

    def percentile(self, p: float) -> float | None:
        """The p-th percentile in microseconds (within 1%), None when empty."""
        if not self.count:
            return None
        if p >= 100:
            return self.high
        rank = max(1, math.ceil(self.count * p / 100.0))
        seen = 0
        for index, n in enumerate(self.counts):
            seen += n
            if seen >= rank:
                middle = math.exp((index + 0.5) / _K) - 1.0
                return min(max(middle, self.low), self.high)
        return self.high

    def summary_ms(self) -> dict:
        """count, mean, p50, p90, p95, p99, p99.9 and max in milliseconds."""

        def ms(value: float | None) -> float | None:
            return None if value is None else round(value / 1000.0, 3)

        return {
            "count": self.count,
            "mean_ms": ms(self.total / self.count) if self.count else None,
            "min_ms": ms(self.low) if self.count else None,
            "p50_ms": ms(self.percentile(50)),
            "p90_ms": ms(self.percentile(90)),
            "p95_ms": ms(self.percentile(95)),
            "p99_ms": ms(self.percentile(99)),
            "p999_ms": ms(self.percentile(99.9)),
            "max_ms": ms(self.high) if self.count else None,
        }

    def to_dict(self) -> dict:
        sparse = {index: n for index, n in enumerate(self.counts) if n}
        return {
            "counts": sparse,
            "count": self.count,
            "total": self.total,
            "low": self.low if self.count else None,
            "high": self.high,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Histogram:
        histogram = cls()
        for index, n in data["counts"].items():
            histogram.counts[int(index)] += n
        histogram.count = data["count"]
        histogram.total = data["total"]
        histogram.low = data["low"] if data["low"] is not None else math.inf
        histogram.high = data["high"]
        return histogram
