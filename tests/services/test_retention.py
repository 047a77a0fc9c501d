"""Retention: old readings (whole months on PostgreSQL), events and read attempts go; /metrics shows the run.

The test database lives for the whole run, so these tests work in 1995, a year no other test touches.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select

from hes.db.enums import EventCategory
from hes.db.store import obis_codes, partitions
from hes.db.store.read_attempts import AttemptCount, add_counts
from hes.db.store.readings import ReadingRow, write_readings
from hes.db.tables import Event, Meter, ReadAttempts, Reading
from hes.obis import ObisCode
from hes.runtime import Runtime
from hes.services.retention import RetentionPolicy, enforce_retention

ENERGY = ObisCode.parse("1-0:1.8.0.255")
NOW = datetime(1995, 4, 15, tzinfo=UTC)
READING_TIMES = [datetime(1994, 12, 20, tzinfo=UTC)] + [datetime(1995, month, 10, tzinfo=UTC) for month in (1, 2, 3, 4)]


def _is_postgresql(runtime: Runtime) -> bool:
    return runtime.engine.dialect.name == "postgresql"


async def _store_readings(runtime: Runtime) -> None:
    """Two meters' readings on each of READING_TIMES; on PostgreSQL January to April 1995 have partitions."""
    async with runtime.sessions() as session:
        await partitions.ensure_monthly_partitions(session, datetime(1995, 2, 1, tzinfo=UTC), 1, 2)
        obis_id = (await obis_codes.get_or_create_ids(session, [ENERGY]))[ENERGY]
        await write_readings(session, [ReadingRow(meter, obis_id, ts, 1.0) for ts in READING_TIMES for meter in (1, 2)])
        await session.commit()


async def _reading_times(runtime: Runtime) -> list[datetime]:
    async with runtime.sessions() as session:
        return sorted(set(await session.scalars(select(Reading.ts))))


async def _store_events(runtime: Runtime, old: int, new: int) -> None:
    async with runtime.sessions() as session:
        for number in range(old + new):
            age = timedelta(days=400 + number) if number < old else timedelta(days=number)
            session.add(Event(event_type="test", category=EventCategory.TECHNICAL, occurred_at=NOW - age))
        await session.commit()


async def test_old_readings_events_and_attempts_leave_newer_ones_stay(runtime: Runtime) -> None:
    await _store_readings(runtime)
    await _store_events(runtime, old=25, new=5)
    async with runtime.sessions() as session:
        meter = Meter(meter_number="RET-1")
        session.add(meter)
        await session.flush()
        days = [date(1995, 4, 1), date(1995, 4, 4), date(1995, 4, 5), date(1995, 4, 15)]
        await add_counts(session, [AttemptCount(day, meter.id, 3, 2) for day in days])
        await session.commit()

    policy = RetentionPolicy(readings_days=30, events_days=365, read_attempts_days=10, batch_size=10)
    report = await enforce_retention(runtime.sessions, policy, now=NOW)

    assert report.readings_cutoff == datetime(1995, 3, 16, tzinfo=UTC)
    assert (report.events_deleted, report.read_attempts_deleted) == (25, 2)
    if _is_postgresql(runtime):
        # Whole months only: March is not all past the cut-off, so its readings stay until next month.
        assert report.partitions_dropped == ("readings_1995_01", "readings_1995_02")
        assert report.readings_deleted == 2  # December 1994 had no partition: deleted row by row
        assert await _reading_times(runtime) == READING_TIMES[3:]
        assert report.oldest_reading_kept == datetime(1995, 3, 1, tzinfo=UTC)  # to the month
        assert "readings_1995_01" not in await _partition_names(runtime)
    else:
        assert report.partitions_dropped == ()
        assert report.readings_deleted == 8
        assert await _reading_times(runtime) == READING_TIMES[4:]
        assert report.oldest_reading_kept == READING_TIMES[4]
    async with runtime.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Event)) == 5
        kept_days = sorted(await session.scalars(select(ReadAttempts.day)))
    assert kept_days == [date(1995, 4, 5), date(1995, 4, 15)]


async def test_a_policy_of_zero_days_keeps_everything(runtime: Runtime) -> None:
    await _store_readings(runtime)
    await _store_events(runtime, old=3, new=1)
    report = await enforce_retention(runtime.sessions, RetentionPolicy(), now=NOW)
    assert (report.readings_cutoff, report.partitions_dropped, report.readings_deleted) == (None, (), 0)
    assert report.events_deleted == report.read_attempts_deleted == 0
    assert await _reading_times(runtime) == READING_TIMES
    assert report.oldest_reading_kept == READING_TIMES[0]


async def test_a_large_backlog_is_worked_off_over_several_runs(runtime: Runtime) -> None:
    await _store_events(runtime, old=7, new=0)
    policy = RetentionPolicy(events_days=30, batch_size=2, max_batches=2)
    assert (await enforce_retention(runtime.sessions, policy, now=NOW)).events_deleted == 4
    assert (await enforce_retention(runtime.sessions, policy, now=NOW)).events_deleted == 3
    assert (await enforce_retention(runtime.sessions, policy, now=NOW)).events_deleted == 0


async def test_the_last_run_shows_on_metrics(runtime: Runtime, client: AsyncClient) -> None:
    await _store_readings(runtime)
    await _store_events(runtime, old=2, new=0)
    report = await enforce_retention(runtime.sessions, RetentionPolicy(readings_days=30, events_days=30), now=NOW)

    exposition = (await client.get("/metrics")).text
    figures = {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in exposition.splitlines()
        if line.startswith("hes_retention_")
    }
    assert figures["hes_retention_last_run_timestamp_seconds"] == report.finished_at.timestamp()
    assert figures["hes_retention_last_run_partitions_dropped"] == len(report.partitions_dropped)
    assert figures['hes_retention_last_run_rows_deleted{table="events"}'] == 2
    assert figures['hes_retention_last_run_rows_deleted{table="readings"}'] == report.readings_deleted
    assert report.oldest_reading_kept is not None
    assert figures["hes_retention_oldest_reading_timestamp_seconds"] == report.oldest_reading_kept.timestamp()


@pytest.mark.parametrize(
    "arguments",
    [{"readings_days": -1}, {"events_days": -5}, {"read_attempts_days": -1}, {"batch_size": 0}, {"max_batches": 0}],
)
def test_bad_policies_are_refused(arguments: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        RetentionPolicy(**arguments)


async def _partition_names(runtime: Runtime) -> set[str]:
    async with runtime.sessions() as session:
        return set(await partitions.monthly_partitions(session))
