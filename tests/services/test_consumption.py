"""Consumption buckets: UTC hours, days, ISO weeks and months, aligned to whole buckets and bounded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from hes.services.consumption import MAX_BUCKETS, Interval, bucket_start, bucket_starts, next_bucket

MOMENT = datetime(2025, 3, 5, 14, 37, 12, tzinfo=UTC)  # a Wednesday


@pytest.mark.parametrize(
    ("interval", "start", "following"),
    [
        (Interval.HOURLY, datetime(2025, 3, 5, 14, tzinfo=UTC), datetime(2025, 3, 5, 15, tzinfo=UTC)),
        (Interval.DAILY, datetime(2025, 3, 5, tzinfo=UTC), datetime(2025, 3, 6, tzinfo=UTC)),
        (Interval.WEEKLY, datetime(2025, 3, 3, tzinfo=UTC), datetime(2025, 3, 10, tzinfo=UTC)),
        (Interval.MONTHLY, datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 4, 1, tzinfo=UTC)),
    ],
)
def test_buckets_start_at_utc_boundaries(interval: Interval, start: datetime, following: datetime) -> None:
    assert bucket_start(interval, MOMENT) == start
    assert next_bucket(interval, start) == following


def test_times_with_other_offsets_are_bucketed_in_utc() -> None:
    lagos = datetime(2025, 3, 5, 0, 30, tzinfo=timezone(timedelta(hours=1)))  # 23:30 UTC the day before
    assert bucket_start(Interval.DAILY, lagos) == datetime(2025, 3, 4, tzinfo=UTC)


def test_months_of_every_length_follow_each_other() -> None:
    starts = bucket_starts(Interval.MONTHLY, datetime(2024, 1, 31, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC))
    assert [start.month for start in starts] == list(range(1, 13))
    assert all(start.day == 1 for start in starts)


def test_a_range_covers_every_bucket_it_touches() -> None:
    starts = bucket_starts(Interval.DAILY, MOMENT, MOMENT + timedelta(days=1))
    assert starts == [datetime(2025, 3, 5, tzinfo=UTC), datetime(2025, 3, 6, tzinfo=UTC)]


def test_too_long_a_range_stops_one_past_the_limit() -> None:
    starts = bucket_starts(Interval.HOURLY, MOMENT, MOMENT + timedelta(days=365))
    assert len(starts) == MAX_BUCKETS + 1
