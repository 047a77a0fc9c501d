"""Tests of the model's time arithmetic."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from hes.simulator.physics.timeline import (
    clip,
    covers,
    date_day,
    day_date,
    day_of,
    merge,
    overlap,
    to_datetime,
    to_seconds,
)


def test_seconds_round_trip_and_other_zones_are_converted() -> None:
    moment = datetime(2024, 3, 4, 12, 30, 15, 999_999, tzinfo=UTC)
    lagos = datetime(2024, 3, 4, 13, 30, 15, tzinfo=timezone(timedelta(hours=1)))

    assert to_seconds(moment) == to_seconds(lagos) == 1_709_555_415
    assert to_datetime(to_seconds(moment)) == moment.replace(microsecond=0)
    with pytest.raises(ValueError, match="naive"):
        to_seconds(datetime(2024, 3, 4))


def test_days() -> None:
    assert day_of(to_seconds(datetime(2024, 3, 4, 23, 59, 59, tzinfo=UTC))) == date_day(date(2024, 3, 4))
    assert day_date(date_day(date(2024, 2, 29))) == date(2024, 2, 29)
    assert day_of(-1) == -1


def test_windows() -> None:
    windows = merge([(50, 60), (0, 10), (5, 20), (30, 30), (20, 25)])

    assert windows == ((0, 25), (50, 60))
    assert clip(windows, 10, 55) == ((10, 25), (50, 55))
    assert overlap(windows, 0, 100) == 35
    assert overlap(windows, 24, 51) == 2
    assert overlap((), 0, 100) == 0
    assert covers(windows, 0) and covers(windows, 59)
    assert not covers(windows, 25) and not covers(windows, 60)
