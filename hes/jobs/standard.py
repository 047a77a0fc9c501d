"""The periodic jobs every HES Core process schedules (each slot runs on one instance only)."""

from __future__ import annotations

from datetime import time, timedelta

from hes.jobs.schedule import Job, JobContext, JobFunction
from hes.services import readings, retention
from hes.services.retention import RetentionPolicy

# Off-peak, and apart: partitions are prepared first, then retention drops what has aged out.
PARTITIONS_AT = time(0, 15)
RETENTION_AT = time(2, 30)


def standard_jobs(policy: RetentionPolicy, retention_at: time = RETENTION_AT) -> list[Job]:
    """Daily upkeep: the monthly reading partitions ahead of time, and retention at `retention_at` (UTC)."""
    return [
        Job("reading-partitions", _prepare_partitions, timedelta(days=1), PARTITIONS_AT),
        Job("retention", retention_job(policy), timedelta(days=1), retention_at),
    ]


def retention_job(policy: RetentionPolicy) -> JobFunction:
    """A job function enforcing `policy`."""

    async def run(context: JobContext) -> None:
        await retention.enforce_retention(context.sessions, policy)

    return run


async def _prepare_partitions(context: JobContext) -> None:
    # The startup call covers three months ahead; a process that runs longer than that still needs new months.
    async with context.sessions() as session:
        await readings.ensure_partitions(session)
