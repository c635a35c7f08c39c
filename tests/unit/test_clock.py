"""Time is UTC, and goes out as ISO 8601 with milliseconds and `Z`."""

from datetime import UTC, datetime, timedelta, timezone

from sharemyshows_rt.clock import as_utc, isoformat_z, utcnow


def test_isoformat_z_has_milliseconds_and_z():
    moment = datetime(2024, 11, 16, 20, 25, 45, 123456, tzinfo=UTC)
    assert isoformat_z(moment) == "2024-11-16T20:25:45.123Z"


def test_isoformat_z_pads_milliseconds():
    assert (
        isoformat_z(datetime(2024, 1, 2, 3, 4, 5, 7000, tzinfo=UTC)) == "2024-01-02T03:04:05.007Z"
    )
    assert isoformat_z(datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2024-01-02T03:04:05.000Z"


def test_isoformat_z_converts_other_zones_to_utc():
    paris = timezone(timedelta(hours=2))
    assert (
        isoformat_z(datetime(2024, 11, 16, 22, 25, 45, tzinfo=paris)) == "2024-11-16T20:25:45.000Z"
    )


def test_naive_times_are_taken_as_utc():
    """SQLite hands timestamps back without a zone; they were written in UTC."""
    assert isoformat_z(datetime(2024, 11, 16, 20, 25, 45)) == "2024-11-16T20:25:45.000Z"
    assert as_utc(datetime(2024, 1, 1)).tzinfo == UTC


def test_utcnow_is_aware_utc_to_the_millisecond():
    now = utcnow()
    assert now.utcoffset() == timedelta(0)
    assert now.microsecond % 1000 == 0
    assert abs(datetime.now(UTC) - now) < timedelta(seconds=5)


def test_utcnow_truncates_to_the_exact_millisecond(monkeypatch):
    """Every millisecond of a second, now and in 2100, lands on its microsecond exactly."""
    for seconds in (1_764_280_724, 4_102_444_800):
        for millis in range(1000):
            nanos = (seconds * 1000 + millis) * 1_000_000 + 999_999
            monkeypatch.setattr("sharemyshows_rt.clock.time.time_ns", lambda: nanos)
            now = utcnow()
            assert (int(now.timestamp()), now.microsecond) == (seconds, millis * 1000)
