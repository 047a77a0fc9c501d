"""The scheduler: runs each job on its slots, once across HES instances, and outlives any job's failure.

On PostgreSQL several instances share the database, and each slot of a job runs on exactly one of them: every
instance wakes at the same due time and tries the job's advisory lock; the one that gets it claims the slot in
`job_slots` (hes.db.store.job_slots) and runs it, holding the lock while it runs, so a run that overruns the next
due time makes its peers skip that slot rather than run beside it. A peer that gets the lock later (a slow
connection, a holder stopped early) finds the slot claimed and skips it: the claim, not timing, makes it once.
A slot more than `start_window` old is not started at all. On SQLite (one process) jobs just run.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum

from prometheus_client import Counter, Gauge
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from hes.config import Settings
from hes.db.store import job_slots
from hes.jobs.locks import advisory_lock
from hes.jobs.schedule import Job, JobContext

logger = logging.getLogger(__name__)

RUNS = Counter("hes_job_runs_total", "Periodic job slots by outcome, in this process", ["job", "outcome"])
LAST_SUCCESS = Gauge(
    "hes_job_last_success_timestamp_seconds", "When a job last finished without error, in this process", ["job"]
)


class Outcome(StrEnum):
    """What became of one slot of a job in this process."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    HELD_ELSEWHERE = "held_elsewhere"  # another instance runs or ran this slot
    LATE = "late"  # woke past the start window; the slot is left to the instance that took it
    UNAVAILABLE = "unavailable"  # the database could not be asked for the lock


@dataclass(frozen=True)
class JobStats:
    """What this process did with a job so far."""

    runs: int = 0
    failures: int = 0
    skipped: int = 0
    last_slot: datetime | None = None
    last_outcome: Outcome | None = None
    last_error: str | None = None


class Scheduler:
    """Runs `jobs` in the background from `start()` until `stop()`; no job failure stops it.

    Raises:
        ValueError: two jobs share a name.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        jobs: Sequence[Job],
    ) -> None:
        names = [job.name for job in jobs]
        if len(set(names)) != len(names):
            raise ValueError(f"job names must be unique: {names}")
        self._engine = engine
        self._sessions = sessions
        self._settings = settings
        self._jobs = {job.name: job for job in jobs}
        # Several instances may share a PostgreSQL database; a SQLite file has one process.
        self._exclusive = engine.dialect.name == "postgresql"
        self._stats = {job.name: JobStats() for job in jobs}
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def jobs(self) -> tuple[Job, ...]:
        """The jobs, in the order given."""
        return tuple(self._jobs.values())

    @property
    def running(self) -> bool:
        """True between start() and stop()."""
        return bool(self._tasks)

    def stats(self) -> dict[str, JobStats]:
        """Each job's counts and last outcome in this process."""
        return dict(self._stats)

    async def start(self) -> None:
        """Start one background task per job; each first runs at its next due time.

        Raises:
            RuntimeError: already started.
        """
        if self._tasks:
            raise RuntimeError("the scheduler is already running")
        for job in self._jobs.values():
            task = asyncio.create_task(self._loop(job), name=f"hes-job-{job.name}")
            task.add_done_callback(self._report_end)
            self._tasks.append(task)
        logger.info("scheduler started: %s", ", ".join(self._jobs) or "no jobs")

    async def stop(self) -> None:
        """Cancel every job task and wait for them; a run in progress is cancelled (its transaction rolls back)."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if tasks:
            logger.info("scheduler stopped")

    async def run_now(self, name: str) -> Outcome:
        """Run job `name` once now, outside its slots (still exclusive across instances on PostgreSQL).

        Raises:
            KeyError: no job of that name.
        """
        job = self._jobs[name]
        slot = datetime.now(UTC)
        if not self._exclusive:
            return await self._run(job, slot)
        try:
            async with advisory_lock(self._engine, job.lock_key) as held:
                return await self._run(job, slot) if held else self._skip(job, slot, Outcome.HELD_ELSEWHERE)
        except Exception as error:
            return self._skip(job, slot, Outcome.UNAVAILABLE, error)

    async def _loop(self, job: Job) -> None:
        slot = job.next_slot_after(datetime.now(UTC))
        while True:
            await _sleep_until(slot)
            await self._attempt(job, slot)
            # Slots missed while a long run went on are skipped, not caught up.
            slot = job.next_slot_after(max(datetime.now(UTC), slot))

    async def _attempt(self, job: Job, slot: datetime) -> Outcome:
        if not self._exclusive:
            return await self._run(job, slot)
        if self._too_late(job, slot):
            return self._skip(job, slot, Outcome.LATE)
        try:
            async with advisory_lock(self._engine, job.lock_key) as held:
                if not held:
                    return self._skip(job, slot, Outcome.HELD_ELSEWHERE)
                if self._too_late(job, slot):  # getting a connection can take longer than the window
                    return self._skip(job, slot, Outcome.LATE)
                async with self._engine.begin() as connection:
                    claimed = await job_slots.claim(connection, job.name, slot)
                if not claimed:  # a peer ran it and let go of the lock before this instance asked
                    return self._skip(job, slot, Outcome.HELD_ELSEWHERE)
                return await self._run(job, slot)
        except Exception as error:
            return self._skip(job, slot, Outcome.UNAVAILABLE, error)

    @staticmethod
    def _too_late(job: Job, slot: datetime) -> bool:
        return datetime.now(UTC) - slot > job.start_window

    async def _run(self, job: Job, slot: datetime) -> Outcome:
        started = time.monotonic()
        stats = replace(self._stats[job.name], last_slot=slot)
        try:
            await job.run(JobContext(self._sessions, self._settings, slot))
        except Exception as error:  # not CancelledError (a BaseException): stop() still cancels a run
            logger.exception("job %s failed (slot %s)", job.name, slot.isoformat())
            stats = replace(stats, runs=stats.runs + 1, failures=stats.failures + 1, last_error=repr(error))
            outcome = Outcome.FAILED
        else:
            logger.debug("job %s done in %.3f s", job.name, time.monotonic() - started)
            stats = replace(stats, runs=stats.runs + 1, last_error=None)
            outcome = Outcome.SUCCEEDED
            LAST_SUCCESS.labels(job.name).set(time.time())
        self._stats[job.name] = replace(stats, last_outcome=outcome)
        RUNS.labels(job.name, outcome.value).inc()
        return outcome

    def _skip(self, job: Job, slot: datetime, outcome: Outcome, error: Exception | None = None) -> Outcome:
        if outcome is Outcome.UNAVAILABLE:
            logger.warning("job %s: slot %s skipped, no database for its lock: %s", job.name, slot.isoformat(), error)
        elif outcome is Outcome.LATE:
            logger.warning("job %s: slot %s skipped, woke too late to claim it", job.name, slot.isoformat())
        stats = self._stats[job.name]
        self._stats[job.name] = replace(
            stats,
            skipped=stats.skipped + 1,
            last_slot=slot,
            last_outcome=outcome,
            last_error=None if error is None else repr(error),
        )
        RUNS.labels(job.name, outcome.value).inc()
        return outcome

    @staticmethod
    def _report_end(task: asyncio.Task[None]) -> None:
        # Job loops end only by cancellation; anything else is a scheduler bug worth a loud log line.
        if not task.cancelled() and task.exception() is not None:
            logger.error("%s ended unexpectedly", task.get_name(), exc_info=task.exception())


async def _sleep_until(moment: datetime) -> None:
    """Sleep until the wall clock reaches `moment` (re-checked, since the loop's clock is monotonic)."""
    while (remaining := (moment - datetime.now(UTC)).total_seconds()) > 0:
        await asyncio.sleep(remaining)
