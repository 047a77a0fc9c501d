"""Time arithmetic of the meter model: whole UTC seconds, 15-minute intervals, days, half-open windows.

Everything inside the model counts whole seconds since 1970-01-01 00:00 UTC: a meter clock ticks in
seconds (COSEM date-time, IEC 62056-6-2 4.1.6.1, carries hundredths that meters leave "not specified"),
and integers keep the arithmetic exact. Days are UTC days; UTC has no daylight saving time, so every day
has exactly 96 intervals.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta

INTERVAL_SECONDS = 900
"""Length of one load-profile interval: 15 minutes, the usual capture period of 1-0:99.1.0.255."""
INTERVALS_PER_DAY = 96
DAY_SECONDS = 86_400
INTERVAL = timedelta(seconds=INTERVAL_SECONDS)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_SECOND = timedelta(seconds=1)

Window = tuple[int, int]
"""A half-open span [start, end) in epoch seconds."""


def to_seconds(at: datetime, name: str = "at") -> int:
    """Whole seconds since the epoch of an aware datetime (the sub-second part is dropped).

    Raises:
        ValueError: `at` is naive; the model never guesses a time zone.
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (UTC), not naive: {at.isoformat()}")
    return (at - _EPOCH) // _SECOND


def to_datetime(seconds: int) -> datetime:
    """The aware UTC datetime of an epoch second."""
    return _EPOCH + timedelta(seconds=seconds)


def day_of(seconds: int) -> int:
    """Index of the UTC day holding an epoch second (day 0 is 1970-01-01)."""
    return seconds // DAY_SECONDS


def day_date(day: int) -> date:
    """The calendar date of a day index."""
    return date.fromordinal(_EPOCH_ORDINAL + day)


def date_day(calendar_date: date) -> int:
    """The day index of a calendar date."""
    return calendar_date.toordinal() - _EPOCH_ORDINAL


def merge(windows: Iterable[Window]) -> tuple[Window, ...]:
    """Sorted, non-overlapping windows covering the same seconds (empty windows dropped)."""
    merged: list[list[int]] = []
    for start, end in sorted(w for w in windows if w[1] > w[0]):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple((start, end) for start, end in merged)


def clip(windows: Iterable[Window], low: int, high: int) -> tuple[Window, ...]:
    """The parts of windows inside [low, high), merged."""
    return merge((max(start, low), min(end, high)) for start, end in windows)


def overlap(windows: Sequence[Window], low: int, high: int) -> int:
    """How many seconds of [low, high) the (merged) windows cover."""
    covered = 0
    for start, end in windows:
        if start >= high:
            break
        if end > low:
            covered += min(end, high) - max(start, low)
    return covered


def covers(windows: Sequence[Window], second: int) -> bool:
    """Whether an epoch second lies inside one of the windows."""
    # A plain loop, not any(): this runs several times per interval record and the generator costs 2x.
    for start, end in windows:  # noqa: SIM110
        if start <= second < end:
            return True
    return False
