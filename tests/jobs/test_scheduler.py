"""The scheduler: one run per slot across instances sharing PostgreSQL, failures logged and survived, clean stop.

Intervals are short so slots come quickly; tests wait for runs to happen, never for a time to pass.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from hes.db.engine import make_engine, make_session_factory
from hes.jobs import Job, JobContext, Outcome, Scheduler
from hes.jobs import scheduler as scheduler_module
from hes.jobs.locks import advisory_lock
from hes.runtime import Runtime

# Generous: on a loaded machine a slot may be skipped as late, never run twice; waiting covers the skips.
WAIT_SECONDS = 60


def _postgresql_only(runtime: Runtime) -> None:
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("instances share only a PostgreSQL database")


class Recorder:
    """A job function that records each slot it ran for and which instance ran it."""

    def __init__(self) -> None:
        self.runs: list[tuple[str, datetime]] = []
        self._changed = asyncio.Condition()

    def job(self, instance: str, fail: bool = False) -> Callable[[JobContext], Awaitable[None]]:
        async def run(context: JobContext) -> None:
            async with self._changed:
                self.runs.append((instance, context.slot))
                self._changed.notify_all()
            if fail:
                raise RuntimeError(f"job failure number {len(self.runs)}")

        return run

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(WAIT_SECONDS), self._changed:
            await self._changed.wait_for(lambda: len(self.runs) >= count)


def _scheduler(runtime: Runtime, *jobs: Job) -> Scheduler:
    return Scheduler(runtime.engine, runtime.sessions, runtime.settings, jobs)


async def _run_together(*schedulers: Scheduler, until: Callable[[], Awaitable[None]]) -> None:
    for scheduler in schedulers:
        await scheduler.start()
    try:
        await until()
    finally:
        for scheduler in schedulers:
            await scheduler.stop()


async def test_two_instances_on_postgresql_run_each_slot_once_between_them(
    runtime: Runtime, second_instance: Runtime
) -> None:
    _postgresql_only(runtime)
    recorder = Recorder()
    interval = timedelta(seconds=1)
    first = _scheduler(runtime, Job("shared-tick", recorder.job("first"), interval))
    second = _scheduler(second_instance, Job("shared-tick", recorder.job("second"), interval))
    await _run_together(first, second, until=lambda: recorder.wait_for(4))

    slots = [slot for _, slot in recorder.runs]
    assert len(slots) == len(set(slots)), f"a slot ran twice: {recorder.runs}"
    stats = [first.stats()["shared-tick"], second.stats()["shared-tick"]]
    assert sum(stat.runs for stat in stats) == len(recorder.runs)
    # Both instances woke for the slots: the one that did not run a slot skipped it.
    assert sum(stat.skipped for stat in stats) >= len(recorder.runs) - 1
    assert {stat.last_outcome for stat in stats} <= {Outcome.SUCCEEDED, Outcome.HELD_ELSEWHERE, Outcome.LATE}


@pytest.mark.parametrize("slow_by_windows", [0.5, 3.0])
async def test_an_instance_slow_to_get_its_lock_does_not_run_a_slot_its_peer_already_ran(
    runtime: Runtime, second_instance: Runtime, monkeypatch: pytest.MonkeyPatch, slow_by_windows: float
) -> None:
    """The failures seen in CI: a peer's connection arrived after the slot's runner had released the lock,
    late (3 windows) or still within the start window (half a window: a runner stopped early, or a quick one)."""
    _postgresql_only(runtime)
    recorder = Recorder()
    interval = timedelta(seconds=1)
    first_job = Job("shared-tick", recorder.job("first"), interval)
    slow_by = slow_by_windows * first_job.start_window

    @asynccontextmanager
    async def slow_for_second_instance(engine: AsyncEngine, key: int) -> AsyncIterator[bool]:
        if engine is second_instance.engine:
            await asyncio.sleep(slow_by.total_seconds())
        async with advisory_lock(engine, key) as held:
            yield held

    monkeypatch.setattr(scheduler_module, "advisory_lock", slow_for_second_instance)
    first = _scheduler(runtime, first_job)
    second = _scheduler(second_instance, Job("shared-tick", recorder.job("second"), interval))
    await _run_together(first, second, until=lambda: recorder.wait_for(3))

    assert {instance for instance, _ in recorder.runs} == {"first"}, f"a slot ran twice: {recorder.runs}"
    stats = second.stats()["shared-tick"]
    assert stats.runs == 0 and stats.skipped >= 1


async def test_a_failing_job_is_logged_and_keeps_its_schedule(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder()
    healthy = Recorder()
    scheduler = _scheduler(
        runtime,
        Job("always-fails", recorder.job("only", fail=True), timedelta(milliseconds=200)),
        Job("healthy", healthy.job("only"), timedelta(milliseconds=200)),
    )
    with caplog.at_level(logging.ERROR, logger="hes.jobs.scheduler"):
        await scheduler.start()
        try:
            await recorder.wait_for(3)
            await healthy.wait_for(3)
        finally:
            await scheduler.stop()

    stats = scheduler.stats()["always-fails"]
    assert stats.failures == stats.runs >= 3
    assert stats.last_outcome is Outcome.FAILED
    assert stats.last_error is not None and "job failure number" in stats.last_error
    assert scheduler.stats()["healthy"].failures == 0
    failures = [record for record in caplog.records if "always-fails" in record.getMessage()]
    assert len(failures) >= 3 and all(record.exc_info for record in failures)


async def test_stop_cancels_a_running_job_and_releases_its_lock(runtime: Runtime) -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def endless(_context: JobContext) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    job = Job("endless", endless, timedelta(milliseconds=200))
    scheduler = _scheduler(runtime, job)
    await scheduler.start()
    assert scheduler.running
    async with asyncio.timeout(WAIT_SECONDS):
        await started.wait()
    await scheduler.stop()

    assert cancelled.is_set() and not scheduler.running
    await scheduler.stop()  # a second stop is harmless
    if runtime.engine.dialect.name == "postgresql":
        async with advisory_lock(runtime.engine, job.lock_key) as held:
            assert held, "the stopped scheduler still holds the job's lock"
        async with runtime.engine.connect() as connection:
            held_here = text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
            assert await connection.scalar(held_here) == 0


async def test_start_twice_is_refused_and_a_stopped_scheduler_starts_again(runtime: Runtime) -> None:
    recorder = Recorder()
    scheduler = _scheduler(runtime, Job("restartable", recorder.job("only"), timedelta(milliseconds=200)))
    await scheduler.start()
    try:
        with pytest.raises(RuntimeError, match="already running"):
            await scheduler.start()
    finally:
        await scheduler.stop()
    await scheduler.start()
    try:
        await recorder.wait_for(1)
    finally:
        await scheduler.stop()


async def test_run_now_is_exclusive_across_instances(runtime: Runtime, second_instance: Runtime) -> None:
    recorder = Recorder()
    job = Job("on-demand", recorder.job("first"))
    assert await _scheduler(runtime, job).run_now("on-demand") is Outcome.SUCCEEDED
    assert len(recorder.runs) == 1
    if runtime.engine.dialect.name != "postgresql":
        return
    other = _scheduler(second_instance, Job("on-demand", recorder.job("second")))
    async with advisory_lock(runtime.engine, job.lock_key) as held:
        assert held
        assert await other.run_now("on-demand") is Outcome.HELD_ELSEWHERE
    assert await other.run_now("on-demand") is Outcome.SUCCEEDED
    assert [instance for instance, _ in recorder.runs] == ["first", "second"]
    with pytest.raises(KeyError):
        await other.run_now("no-such-job")


async def test_an_unreachable_database_skips_the_slot_without_raising(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine("postgresql+asyncpg://postgres@127.0.0.1:1/nowhere")  # nothing listens on port 1
    recorder = Recorder()
    scheduler = Scheduler(engine, make_session_factory(engine), runtime.settings, [Job("cut-off", recorder.job("x"))])
    try:
        with caplog.at_level(logging.WARNING, logger="hes.jobs.scheduler"):
            assert await scheduler.run_now("cut-off") is Outcome.UNAVAILABLE
    finally:
        await engine.dispose()
    assert recorder.runs == []
    assert scheduler.stats()["cut-off"].skipped == 1
    assert "cut-off" in caplog.text


def test_job_names_must_be_unique(runtime: Runtime) -> None:
    recorder = Recorder()
    with pytest.raises(ValueError, match="unique"):
        _scheduler(runtime, Job("twin", recorder.job("a")), Job("twin", recorder.job("b")))
