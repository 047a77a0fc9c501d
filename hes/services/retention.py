"""Retention: raw readings, events and read-attempt counts older than their configured age are removed.

Readings leave by whole monthly partitions on PostgreSQL (a month is dropped once all of it is past the cut-off)
and by range on SQLite; events and read attempts leave in bounded batches, each its own transaction, so the
ingest path is never blocked for long. The last run is published as Prometheus gauges for `/metrics`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from prometheus_client import Gauge
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hes.db.store import partitions, read_attempts
from hes.db.store import retention as store
from hes.db.tables import utc_now

logger = logging.getLogger(__name__)

LAST_RUN = Gauge("hes_retention_last_run_timestamp_seconds", "When retention last finished, in this process")
PARTITIONS_DROPPED = Gauge(
    "hes_retention_last_run_partitions_dropped", "Monthly reading partitions dropped by the last retention run"
)
ROWS_DELETED = Gauge(
    "hes_retention_last_run_rows_deleted", "Rows deleted by the last retention run, per table", ["table"]
)
OLDEST_READING = Gauge(
    "hes_retention_oldest_reading_timestamp_seconds",
    "Oldest reading kept after the last retention run (to the month on PostgreSQL); 0 without readings",
)


@dataclass(frozen=True)
class RetentionPolicy:
    """How long each kind of record is kept, in days (0: forever), and how retention deletes.

    Raises:
        ValueError: a negative number of days, or a batch size or batch count below 1.
    """

    readings_days: int = 0
    events_days: int = 0
    read_attempts_days: int = 0
    batch_size: int = 10_000
    # A run stops after this many batches per table; a backlog larger than that is worked off on later runs.
    max_batches: int = 1_000

    def __post_init__(self) -> None:
        for name in ("readings_days", "events_days", "read_attempts_days"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be 0 (keep forever) or more")
        if self.batch_size < 1 or self.max_batches < 1:
            raise ValueError("batch_size and max_batches must be at least 1")


@dataclass(frozen=True)
class RetentionReport:
    """What one retention run removed and what it left."""

    finished_at: datetime
    readings_cutoff: datetime | None
    partitions_dropped: tuple[str, ...]
    readings_deleted: int
    events_deleted: int
    read_attempts_deleted: int
    oldest_reading_kept: datetime | None


async def enforce_retention(
    sessions: async_sessionmaker[AsyncSession], policy: RetentionPolicy, now: datetime | None = None
) -> RetentionReport:
    """Remove what `policy` no longer keeps, as of `now` (default: now), and publish the report as gauges.

    Runs several transactions (each partition drop, each batch): a failure keeps what earlier ones removed.
    """
    now = now or utc_now()
    readings_cutoff = now - timedelta(days=policy.readings_days) if policy.readings_days else None
    dropped: tuple[str, ...] = ()
    readings_deleted = events_deleted = attempts_deleted = 0
    if readings_cutoff is not None:
        async with sessions() as session:
            dropped = tuple(await partitions.drop_partitions_before(session, readings_cutoff))
            await session.commit()
        readings_deleted = await _in_batches(
            sessions, policy, lambda session: store.delete_readings_before(session, readings_cutoff, policy.batch_size)
        )
    if policy.events_days:
        events_cutoff = now - timedelta(days=policy.events_days)
        events_deleted = await _in_batches(
            sessions, policy, lambda session: store.delete_events_before(session, events_cutoff, policy.batch_size)
        )
    if policy.read_attempts_days:
        first_day = (now - timedelta(days=policy.read_attempts_days)).date()
        attempts_deleted = await _in_batches(
            sessions, policy, lambda session: read_attempts.delete_before(session, first_day, policy.batch_size)
        )
    async with sessions() as session:
        oldest = await store.oldest_reading(session)
    report = RetentionReport(
        utc_now(), readings_cutoff, dropped, readings_deleted, events_deleted, attempts_deleted, oldest
    )
    publish(report)
    logger.info(
        "retention: dropped partitions %s, deleted %d readings, %d events, %d read-attempt rows; oldest reading %s",
        ", ".join(dropped) or "none",
        readings_deleted,
        events_deleted,
        attempts_deleted,
        oldest.isoformat() if oldest else "none",
    )
    return report


def publish(report: RetentionReport) -> None:
    """Show `report` on `/metrics` (the gauges of this process)."""
    LAST_RUN.set(report.finished_at.timestamp())
    PARTITIONS_DROPPED.set(len(report.partitions_dropped))
    ROWS_DELETED.labels("readings").set(report.readings_deleted)
    ROWS_DELETED.labels("events").set(report.events_deleted)
    ROWS_DELETED.labels("read_attempts").set(report.read_attempts_deleted)
    OLDEST_READING.set(report.oldest_reading_kept.timestamp() if report.oldest_reading_kept else 0)


async def _in_batches(
    sessions: async_sessionmaker[AsyncSession],
    policy: RetentionPolicy,
    delete_batch: Callable[[AsyncSession], Awaitable[int]],
) -> int:
    """Run `delete_batch` in its own transaction until a batch comes back short; return the rows deleted."""
    deleted = 0
    for _ in range(policy.max_batches):
        async with sessions() as session:
            count = await delete_batch(session)
            await session.commit()
        deleted += count
        if count < policy.batch_size:
            break
    return deleted
