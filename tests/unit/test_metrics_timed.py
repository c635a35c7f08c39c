"""metrics.timed: the time spent inside the block is observed under its label, also when the
block raises (a failed event still took its time)."""

import pytest
from prometheus_client import CollectorRegistry, Histogram

from sharemyshows_rt import metrics


def histogram() -> Histogram:
    return Histogram(
        "t_seconds", "test", ["operation"], registry=CollectorRegistry(), buckets=(0.5, 10)
    )


def observed(h: Histogram, operation: str) -> tuple[float, float]:
    """(count, sum) observed under `operation`."""
    samples = {
        (s.name, s.labels.get("operation")): s.value
        for metric in h.collect()
        for s in metric.samples
    }
    return samples[("t_seconds_count", operation)], samples[("t_seconds_sum", operation)]


def time_empty_blocks(h: Histogram, *operations: str) -> None:
    for operation in operations:
        with metrics.timed(h, operation):
            pass


def test_observes_the_block_under_its_label():
    h = histogram()
    time_empty_blocks(h, "store", "store")
    count, total = observed(h, "store")
    assert count == 2 and 0 <= total < 0.5


def test_observes_a_block_that_raises_and_lets_the_error_through():
    h = histogram()
    with pytest.raises(KeyError):
        with metrics.timed(h, "lookup"):
            raise KeyError("x")
    assert observed(h, "lookup")[0] == 1


def test_labels_are_kept_apart():
    h = histogram()
    time_empty_blocks(h, "a", "b")
    assert observed(h, "a")[0] == 1 and observed(h, "b")[0] == 1
