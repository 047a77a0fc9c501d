"""The standard jobs: partition upkeep and retention, daily at fixed UTC times, runnable through the scheduler."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import func, select

from hes.db.enums import EventCategory
from hes.db.store import partitions
from hes.db.tables import Event
from hes.jobs import Outcome, Scheduler, standard_jobs
from hes.runtime import Runtime
from hes.services.retention import RetentionPolicy


def test_the_standard_jobs_run_daily_at_their_times() -> None:
    jobs = {job.name: job for job in standard_jobs(RetentionPolicy(), retention_at=time(3, 45))}
    assert set(jobs) == {"reading-partitions", "retention"}
    assert all(job.interval == timedelta(days=1) for job in jobs.values())
    after = datetime(2026, 6, 1, 12, tzinfo=UTC)
    assert jobs["retention"].next_slot_after(after) == datetime(2026, 6, 2, 3, 45, tzinfo=UTC)
    assert jobs["reading-partitions"].next_slot_after(after) == datetime(2026, 6, 2, 0, 15, tzinfo=UTC)


async def test_both_jobs_do_their_work_when_run(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        old = datetime.now(UTC) - timedelta(days=40)
        session.add(Event(event_type="test", category=EventCategory.BILLING, occurred_at=old))
        await session.commit()
    scheduler = Scheduler(
        runtime.engine, runtime.sessions, runtime.settings, standard_jobs(RetentionPolicy(events_days=30))
    )

    assert await scheduler.run_now("reading-partitions") is Outcome.SUCCEEDED
    assert await scheduler.run_now("retention") is Outcome.SUCCEEDED

    async with runtime.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Event)) == 0
        if runtime.engine.dialect.name == "postgresql":
            this_month = partitions.partition_name(partitions.month_start(datetime.now(UTC)))
            assert this_month in await partitions.monthly_partitions(session)
