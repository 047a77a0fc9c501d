"""Job slots: aligned to a fixed anchor (and a time of day), the same in every process; bad jobs refused."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone

import pytest

from hes.jobs import Job, JobContext


async def _nothing(_context: JobContext) -> None:
    """A job that does nothing."""


def test_interval_slots_are_counted_from_a_fixed_anchor() -> None:
    job = Job("every-quarter", _nothing, timedelta(minutes=15))
    moment = datetime(2031, 5, 4, 10, 7, 30, tzinfo=UTC)
    assert job.slot_at_or_before(moment) == datetime(2031, 5, 4, 10, 0, tzinfo=UTC)
    assert job.next_slot_after(moment) == datetime(2031, 5, 4, 10, 15, tzinfo=UTC)
    # A due time itself is not "after" itself: the next one follows.
    assert job.next_slot_after(datetime(2031, 5, 4, 10, 15, tzinfo=UTC)) == datetime(2031, 5, 4, 10, 30, tzinfo=UTC)


def test_daily_slots_fall_on_the_time_of_day_in_utc() -> None:
    job = Job("nightly", _nothing, timedelta(days=1), time(2, 30))
    assert job.next_slot_after(datetime(2031, 5, 4, 1, 0, tzinfo=UTC)) == datetime(2031, 5, 4, 2, 30, tzinfo=UTC)
    assert job.next_slot_after(datetime(2031, 5, 4, 2, 30, tzinfo=UTC)) == datetime(2031, 5, 5, 2, 30, tzinfo=UTC)
    lagos = timezone(timedelta(hours=1))  # 03:10 in Lagos is 02:10 UTC: the slot is still ahead
    assert job.next_slot_after(datetime(2031, 5, 4, 3, 10, tzinfo=lagos)) == datetime(2031, 5, 4, 2, 30, tzinfo=UTC)
    twice_a_day = Job("twice", _nothing, timedelta(hours=12), time(6, 0))
    assert twice_a_day.next_slot_after(datetime(2031, 5, 4, 7, tzinfo=UTC)) == datetime(2031, 5, 4, 18, tzinfo=UTC)


def test_lock_keys_are_stable_and_distinct_per_name() -> None:
    first = Job("retention", _nothing)
    assert first.lock_key == Job("retention", _nothing, timedelta(hours=1)).lock_key
    assert first.lock_key != Job("reading-partitions", _nothing).lock_key
    assert -(2**63) <= first.lock_key < 2**63
    # Fixed across processes and Python versions (not hash()): a rolling upgrade keeps instances agreeing.
    assert first.lock_key == Job("retention", _nothing).lock_key


def test_start_window_is_a_quarter_interval_at_most_five_minutes() -> None:
    assert Job("fast", _nothing, timedelta(seconds=30)).start_window == timedelta(seconds=7.5)
    assert Job("slow", _nothing, timedelta(days=1)).start_window == timedelta(minutes=5)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"name": "Bad Name"}, "lower-case"),
        ({"name": ""}, "lower-case"),
        ({"name": "ok", "interval": timedelta(0)}, "positive"),
        ({"name": "ok", "interval": timedelta(seconds=-1)}, "positive"),
        ({"name": "ok", "daily_at": time(2, tzinfo=timezone(timedelta(hours=1)))}, "UTC"),
    ],
)
def test_bad_jobs_are_refused(arguments: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Job(run=_nothing, **arguments)  # type: ignore[arg-type]


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        Job("ok", _nothing).next_slot_after(datetime(2031, 1, 1))
