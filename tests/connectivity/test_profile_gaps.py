"""Holes in stored load profiles: merged into ranges, newest first, bounded per meter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hes.connectivity.profile_gaps import Gap, missing_ranges

Q = timedelta(minutes=15)
T0 = datetime(2026, 3, 2, tzinfo=UTC)


def _stored(*skipped: range) -> list[datetime]:
    """A day of interval ends with the steps in `skipped` left out."""
    missing = {step for steps in skipped for step in steps}
    return [T0 + Q * step for step in range(96) if step not in missing]


def test_adjacent_missing_intervals_make_one_range_newest_first() -> None:
    gaps = missing_ranges(_stored(range(10, 14), range(50, 51), range(70, 80)), Q, 1000)
    assert gaps == [
        Gap(T0 + Q * 70, T0 + Q * 79, 10),
        Gap(T0 + Q * 50, T0 + Q * 50, 1),
        Gap(T0 + Q * 10, T0 + Q * 13, 4),
    ]


def test_nothing_is_a_gap_before_the_first_or_after_the_last_stored_interval() -> None:
    assert missing_ranges(_stored(range(0, 20), range(90, 96)), Q, 1000) == []
    assert missing_ranges([], Q, 1000) == [] and missing_ranges([T0], Q, 1000) == []


def test_the_bound_keeps_the_newest_intervals_of_a_long_hole() -> None:
    gaps = missing_ranges(_stored(range(10, 30), range(60, 70)), Q, 15)
    assert gaps == [Gap(T0 + Q * 60, T0 + Q * 69, 10), Gap(T0 + Q * 25, T0 + Q * 29, 5)]
    assert sum(gap.intervals for gap in gaps) == 15
