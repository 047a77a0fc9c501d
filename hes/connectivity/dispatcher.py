"""The dispatcher: runs queued jobs in one session per meter, within the global, per-target and rate limits.

One loop takes meters from the ready heap, most urgent first, and starts a session task ("visit") for each
while fewer than `max_sessions` run, fewer than `max_sessions_per_target` run to its host:port (a meter waiting
on a busy target is parked until a session there ends) and the connection-rate bucket has a token. A visit opens
the session and runs the meter's jobs one after another, most urgent first, including jobs queued while it runs,
so a poll's registers, load profile and events share one association and a read-now queued meanwhile goes next.

A link failure (timeout, unreachable, connection lost) counts an attempt for every job the visit would have run:
jobs with retries left wait an exponential back-off with jitter, the others fail with the error. Any other
session-ending error (authentication, association refused, garbage, a failed tag) fails them at once. A meter
that refuses one attribute (DataAccessError) fails that job only. Every visit is reported (statistics, events).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from hes.connectivity.channels import SessionOpener
from hes.connectivity.dlms import ConnectionLost, DlmsError, DlmsSession, DlmsTimeout, MeterUnreachable
from hes.connectivity.errors import ChannelError, ConnectivityUnavailable, QueueFull
from hes.connectivity.job_queue import AfterSession, JobHandle, MeterJob, MeterQueue, PendingJob, ReadyMeters
from hes.connectivity.meter_links import Channel, MeterTarget
from hes.connectivity.rate_limit import TokenBucket
from hes.connectivity.settings import ConnectivitySettings
from hes.connectivity.visits import DispatcherStats, VisitReport

__all__ = ["RETRYABLE", "Dispatcher", "DispatcherStats", "VisitReport"]  # the last two from hes.connectivity.visits

logger = logging.getLogger(__name__)

T = TypeVar("T")
# Failures of the link, not of the meter's DLMS: worth another attempt later (OSGP retries these too).
RETRYABLE: tuple[type[DlmsError], ...] = (DlmsTimeout, MeterUnreachable, ConnectionLost)


class Dispatcher:
    """Queues jobs per meter and runs them within the session limits (see the module docstring)."""

    def __init__(
        self,
        opener: SessionOpener,
        settings: ConnectivitySettings,
        *,
        on_visit: Callable[[VisitReport], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._opener = opener
        self._settings = settings
        self._on_visit = on_visit
        self._rng = rng or random.Random()
        self._bucket = TokenBucket(settings.connections_per_second, settings.connection_burst)
        self._meters: dict[int, MeterQueue] = {}
        self._ready = ReadyMeters()
        self._parked: dict[str, list[MeterQueue]] = defaultdict(list)
        self._per_route: dict[str, int] = defaultdict(int)
        self._order = itertools.count()
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._visits: set[asyncio.Task[None]] = set()
        self._timers: dict[int, asyncio.TimerHandle] = {}
        self._bucket_timer: asyncio.TimerHandle | None = None
        self._stopping = False  # sessions take no further job
        self._finishers: set[asyncio.Task[None]] = set()  # jobs storing what they read, off the session
        self._finishing = asyncio.Semaphore(settings.max_sessions)
        self._queued = self._sessions = self._peak = self._connections = 0
        self._visit_count = self._failed_visits = self._done = self._failed = self._retries = 0

    @property
    def stats(self) -> DispatcherStats:
        """Counts so far and the present load."""
        return DispatcherStats(
            self._sessions, self._peak, self._connections, self._visit_count, self._failed_visits,
            self._done, self._failed, self._retries, self._queued,
        )  # fmt: skip

    @property
    def running(self) -> bool:
        """Whether start() was called and stop() not yet."""
        return self._loop_task is not None

    def reset_peak(self) -> None:
        """Start measuring the peak of concurrent sessions afresh."""
        self._peak = self._sessions

    async def start(self) -> None:
        """Start dispatching."""
        if self._loop_task is None:
            self._loop_task = asyncio.create_task(self._run(), name="hes-dlms-dispatcher")

    async def stop(self, grace: float | None = None) -> None:
        """Stop: sessions finish the job in hand and release (for at most `grace` seconds, by default the release
        timeout), then are cancelled; every job still waiting fails with ConnectivityUnavailable."""
        task, self._loop_task = self._loop_task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self._stopping = True
        wait = self._settings.release_timeout if grace is None else grace
        if self._visits:
            await asyncio.wait(list(self._visits), timeout=wait)
        for running in list(self._visits):
            running.cancel()
        await asyncio.gather(*self._visits, return_exceptions=True)
        if self._finishers:  # what was read is stored, if the ingest path takes it in time
            await asyncio.wait(list(self._finishers), timeout=wait)
        for finishing in list(self._finishers):
            finishing.cancel()
        await asyncio.gather(*self._finishers, return_exceptions=True)
        for timer in [*self._timers.values(), *([self._bucket_timer] if self._bucket_timer else [])]:
            timer.cancel()
        for meter in self._meters.values():
            for pending in meter.jobs:
                _settle(pending, ConnectivityUnavailable("meter connectivity stopped"))
        self._meters.clear()
        self._timers.clear()
        self._bucket_timer = None
        self._stopping = False

    def submit(self, target: MeterTarget, job: MeterJob[T]) -> JobHandle[T]:
        """Queue `job` for the meter `target` describes (a newer target replaces the queued one).

        Raises:
            ConnectivityUnavailable: the dispatcher is not running.
            QueueFull: `max_queued_jobs` jobs are waiting already.
        """
        if self._loop_task is None:
            raise ConnectivityUnavailable()
        if self._queued >= self._settings.max_queued_jobs:
            raise QueueFull(f"{self._queued} jobs are queued already")
        meter = self._meters.get(target.meter_id)
        if meter is None:
            meter = self._meters[target.meter_id] = MeterQueue(target)
        else:
            meter.target = target
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        pending = PendingJob(job, target.meter_id, next(self._order), future)
        queued = meter.add(pending)
        if queued is pending:
            self._queued += 1
            future.add_done_callback(self._forget)
            self._mark(meter)
        return cast(JobHandle[T], JobHandle(queued))

    # ------------------------------------------------------------------------------------------------ dispatching

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            self._start_visits()
            await self._wake.wait()

    def _start_visits(self) -> None:
        settings = self._settings
        blocked: tuple[MeterQueue, int] | None = None
        entries = self._ready.pop(self._meters)
        while self._sessions < settings.max_sessions and (entry := next(entries, None)) is not None:
            meter = entry[0]
            if meter.best(time.monotonic()) is None:
                self._mark(meter)  # its jobs were withdrawn, or wait for a back-off
                continue
            route = meter.target.route
            if self._per_route[route] >= settings.max_sessions_per_target:
                self._parked[route].append(meter)
                continue
            outbound = meter.target.channel is Channel.OUTBOUND
            if outbound:
                delay = self._bucket.delay()
                if delay > 0:
                    blocked = entry
                    self._wake_after_refill(delay)
                    break
                self._bucket.take()
            self._begin(meter, prepaid=outbound)
        if blocked is not None:
            self._ready.push(*blocked)

    def _begin(self, meter: MeterQueue, *, prepaid: bool) -> None:
        meter.active = True
        self._sessions += 1
        self._peak = max(self._peak, self._sessions)
        self._per_route[meter.target.route] += 1
        task = asyncio.create_task(self._visit(meter, prepaid), name=f"hes-dlms-meter-{meter.target.meter_id}")
        self._visits.add(task)
        task.add_done_callback(self._visits.discard)

    def _mark(self, meter: MeterQueue) -> None:
        """Put the meter in the ready heap if a job of it may run now, else wake it when its back-off ends."""
        if meter.active:
            return
        now = time.monotonic()
        best = meter.best(now)
        if best is not None:
            self._ready.push(meter, best.job.priority)
            self._wake.set()
            return
        wakeup = meter.wakeup()
        if wakeup is None:
            self._meters.pop(meter.target.meter_id, None)
            return
        meter_id = meter.target.meter_id
        if meter_id not in self._timers:
            loop = asyncio.get_running_loop()
            self._timers[meter_id] = loop.call_later(max(wakeup - now, 0.0), self._backoff_over, meter_id)

    def _backoff_over(self, meter_id: int) -> None:
        self._timers.pop(meter_id, None)
        meter = self._meters.get(meter_id)
        if meter is not None:
            self._mark(meter)

    def _wake_after_refill(self, delay: float) -> None:
        if self._bucket_timer is None:

            def refilled() -> None:
                self._bucket_timer = None
                self._wake.set()

            self._bucket_timer = asyncio.get_running_loop().call_later(delay, refilled)

    def _forget(self, future: asyncio.Future[Any]) -> None:
        self._queued -= 1

    async def _connection_token(self) -> None:
        await self._bucket.acquire()
        self._connections += 1

    # ------------------------------------------------------------------------------------------------ visits

    async def _visit(self, meter: MeterQueue, prepaid: bool) -> None:
        target = meter.target
        kinds: list[str] = []
        failure: Exception | None = None
        attempt = 1
        round_trip_ms: int | None = None
        current: PendingJob | None = None
        first_token = prepaid

        async def token() -> None:
            nonlocal first_token
            if first_token:  # the dispatch loop took this visit's first token already
                first_token = False
                self._connections += 1
                return
            await self._connection_token()

        try:
            async with self._opener.open(target, token) as session:
                while not self._stopping and (current := meter.take(time.monotonic())) is not None:
                    kinds.append(current.job.kind)
                    attempt = max(attempt, current.attempts)
                    failure = await self._run_job(current, session)
                    if failure is not None:
                        break
                    current = None
                if session.stats.round_trips:
                    round_trip_ms = round(session.stats.round_trip_seconds / session.stats.round_trips * 1000)
        except (DlmsError, ChannelError, ValueError) as error:
            failure = error
        except asyncio.CancelledError:  # stop(): whoever waits for the job in hand is told
            if current is not None:
                _settle(current, ConnectivityUnavailable("meter connectivity stopped"))
            raise
        finally:
            self._sessions -= 1
            self._per_route[target.route] -= 1
            meter.active = False
        if failure is not None:
            failed = ([current] if current is not None else []) + meter.take_all(time.monotonic())
            kinds += [pending.job.kind for pending in failed if pending is not current]
            attempt = max([attempt, *(pending.attempts for pending in failed)])
            self._settle_failure(meter, failed, failure)
        self._visit_count += 1
        self._failed_visits += failure is not None
        if self._on_visit is not None and kinds:
            report = VisitReport(target, datetime.now(UTC), tuple(kinds), failure, attempt, round_trip_ms)
            self._on_visit(report)
        for parked in self._parked.pop(target.route, []):
            self._mark(parked)
        self._mark(meter)
        self._wake.set()

    async def _run_job(self, pending: PendingJob, session: DlmsSession) -> DlmsError | None:
        """Run one job; the error that ended the session, if one did (the job's own outcome is settled here)."""
        try:
            result = await pending.job.work(session)
        except DlmsError as error:
            if error.ends_session:
                return error
            self._fail(pending, error)  # refused by the meter; the session goes on
        except Exception as error:  # the job's own failure (ingest overloaded, a bug): the session goes on
            logger.warning("meter %s: %s job failed: %r", pending.meter_id, pending.job.kind, error)
            self._fail(pending, error)
        else:
            if isinstance(result, AfterSession):
                # Bounded: past `max_sessions` finishing jobs, the session waits (ingest pushes back this way).
                await self._finishing.acquire()
                task = asyncio.create_task(self._finish(pending, result), name=f"hes-dlms-finish-{pending.meter_id}")
                self._finishers.add(task)
                task.add_done_callback(self._finishers.discard)
            else:
                self._succeed(pending, result)
        return None

    async def _finish(self, pending: PendingJob, after: AfterSession[Any]) -> None:
        try:
            result = await after.finish()
        except asyncio.CancelledError:
            _settle(pending, ConnectivityUnavailable("meter connectivity stopped"))
            raise
        except Exception as error:
            logger.warning("meter %s: %s job failed after its reads: %r", pending.meter_id, pending.job.kind, error)
            self._fail(pending, error)
        else:
            self._succeed(pending, result)
        finally:
            self._finishing.release()

    def _succeed(self, pending: PendingJob, result: object) -> None:
        if not pending.future.done():
            pending.future.set_result(result)
        self._done += 1

    def _settle_failure(self, meter: MeterQueue, failed: list[PendingJob], failure: Exception) -> None:
        retryable = isinstance(failure, RETRYABLE)
        now = time.monotonic()
        longest = 0.0
        for pending in failed:
            if retryable and pending.attempts <= pending.job.retries and not pending.future.done():
                delay = self._backoff(pending.attempts)
                longest = max(longest, delay)
                pending.not_before = now + delay
                pending.started = False
                meter.jobs.append(pending)
                self._retries += 1
            else:
                self._fail(pending, failure)
        if retryable:
            meter.not_before = now + (longest or self._backoff(1))

    def _backoff(self, attempt: int) -> float:
        settings = self._settings
        base = min(settings.backoff_max, settings.backoff * 2 ** (attempt - 1))
        jitter = settings.backoff_jitter
        return float(base * self._rng.uniform(1 - jitter, 1 + jitter))

    def _fail(self, pending: PendingJob, error: BaseException) -> None:
        self._failed += 1
        _settle(pending, error)


def _settle(pending: PendingJob, error: BaseException) -> None:
    if not pending.future.done():
        pending.future.set_exception(error)
        pending.future.exception()  # nobody may be waiting (polling): no "never retrieved" warning
