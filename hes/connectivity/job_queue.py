"""Jobs and the queues they wait in: one queue per meter, and meters ready for a session ordered by priority.

A `MeterJob` is a coroutine function given an open DLMS session: a collection, an on-demand read, later a remote
command. Each meter's jobs wait in its `MeterQueue`; a meter whose most urgent job may run now waits in the
`ReadyMeters` heap with that job's priority, so one urgent job puts its meter ahead of a whole polling wave.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from hes.connectivity.catalogue import Priority
from hes.connectivity.dlms import DlmsSession
from hes.connectivity.meter_links import MeterTarget

__all__ = ["AfterSession", "JobHandle", "MeterJob", "MeterQueue", "PendingJob", "ReadyMeters"]

T = TypeVar("T")
_MIN_PRIORITY, _MAX_PRIORITY = 0, 9


@dataclass(frozen=True, slots=True)
class AfterSession(Generic[T]):
    """What a job does once its reads are done, off the session (storing them); the job's result comes from it.

    A job's work returns one of these to give the meter's session back at once: the session goes on with the
    meter's next job, or is released, while `finish()` runs (storing a day of profile must not keep a cellular
    link open).
    """

    finish: Callable[[], Awaitable[T]] = field(repr=False)


@dataclass(frozen=True)
class MeterJob(Generic[T]):
    """Work for one meter's session: `work(session)` runs once the meter's session is open.

    Attributes:
        kind: what it does, for logs and statistics ("registers", "read", "disconnect", ...).
        priority: 0-9, higher first.
        retries: new attempts after a link failure (timeout, unreachable, connection lost).
        key: a job with the key of one of the meter's jobs still waiting is not queued again (polling coalesces).

    Raises:
        ValueError: a priority outside 0-9 or negative retries.
    """

    kind: str
    work: Callable[[DlmsSession], Awaitable[T | AfterSession[T]]] = field(repr=False)
    priority: int = Priority.POLL_REGISTERS
    retries: int = 0
    key: str | None = None

    def __post_init__(self) -> None:
        if not _MIN_PRIORITY <= self.priority <= _MAX_PRIORITY:
            raise ValueError(f"job priority {self.priority} is not {_MIN_PRIORITY}-{_MAX_PRIORITY}")
        if self.retries < 0:
            raise ValueError("job retries cannot be negative")


@dataclass(eq=False)
class PendingJob:
    """A job in a meter's queue: its order, its attempts so far and the future its handle waits on."""

    job: MeterJob[Any]
    meter_id: int
    order: int
    future: asyncio.Future[Any]
    attempts: int = 0
    started: bool = False
    not_before: float = 0.0  # monotonic time before which a retried job does not run

    def runs_before(self, other: PendingJob) -> bool:
        """Whether this job goes first: higher priority, then queued earlier."""
        return (self.job.priority, -self.order) > (other.job.priority, -other.order)


class JobHandle(Generic[T]):
    """What `submit` returns: the job's outcome to await, and a way to withdraw it before it starts."""

    def __init__(self, pending: PendingJob) -> None:
        self._pending = pending

    @property
    def meter_id(self) -> int:
        """The meter the job is for."""
        return self._pending.meter_id

    @property
    def attempts(self) -> int:
        """Sessions the job has been tried in so far."""
        return self._pending.attempts

    def done(self) -> bool:
        """Whether the job has an outcome (result, error, or withdrawn)."""
        return self._pending.future.done()

    async def result(self) -> T:
        """The job's result once it ran; its error if it failed (a caller's cancellation leaves the job queued).

        Raises:
            DlmsError, ChannelError: the session or the job failed (after its retries).
            asyncio.CancelledError: the job was withdrawn.
        """
        value: T = await asyncio.shield(self._pending.future)
        return value

    def cancel(self) -> bool:
        """Withdraw the job if it has not started; True when it will not run."""
        if self._pending.started or self._pending.future.done():
            return False
        return self._pending.future.cancel()


class MeterQueue:
    """One meter's waiting jobs (a handful: scanned, not heaped), its session flag and its retry back-off."""

    def __init__(self, target: MeterTarget) -> None:
        self.target = target
        self.jobs: list[PendingJob] = []
        self.active = False  # a session with the meter is running
        self.not_before = 0.0  # back-off after a link failure: jobs below URGENT wait until then
        self.queued_priority: int | None = None  # the priority of its entry in ReadyMeters, if it has one

    def add(self, pending: PendingJob) -> PendingJob:
        """Queue `pending`, or return the waiting job with its key (coalesced)."""
        key = pending.job.key
        if key is not None:
            for waiting in self.jobs:
                if waiting.job.key == key and not waiting.started and not waiting.future.done():
                    return waiting
        self.jobs.append(pending)
        return pending

    def best(self, now: float) -> PendingJob | None:
        """The job to run next if any may run at `now` (withdrawn jobs are dropped on the way)."""
        self.jobs = [pending for pending in self.jobs if not pending.future.done()]
        best: PendingJob | None = None
        for pending in self.jobs:
            if self._may_run(pending, now) and (best is None or pending.runs_before(best)):
                best = pending
        return best

    def take(self, now: float) -> PendingJob | None:
        """Remove and return the job to run next, if any may run at `now` (one more attempt of it)."""
        best = self.best(now)
        if best is not None:
            self.jobs.remove(best)
            best.started = True
            best.attempts += 1
        return best

    def take_all(self, now: float) -> list[PendingJob]:
        """Remove and return every job that may run at `now` (each counts an attempt)."""
        taken: list[PendingJob] = []
        while (pending := self.take(now)) is not None:
            taken.append(pending)
        return taken

    def wakeup(self) -> float | None:
        """The earliest time a waiting job may run (None: no job waits)."""
        times = [max(pending.not_before, self._backoff_for(pending)) for pending in self.jobs]
        return min(times) if times else None

    def __len__(self) -> int:
        return len(self.jobs)

    def _may_run(self, pending: PendingJob, now: float) -> bool:
        return now >= pending.not_before and now >= self._backoff_for(pending)

    def _backoff_for(self, pending: PendingJob) -> float:
        # Someone waits for an urgent job: a back-off earned by polling does not hold it up.
        return 0.0 if pending.job.priority >= Priority.URGENT else self.not_before


class ReadyMeters:
    """Meters with a job that may run now, the most urgent first (a heap with lazy removal)."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, int]] = []
        self._order = itertools.count()

    def push(self, meter: MeterQueue, priority: int) -> None:
        """Put `meter` in with `priority`, unless it already waits with that priority or a higher one."""
        if meter.queued_priority is not None and meter.queued_priority >= priority:
            return
        meter.queued_priority = priority
        heapq.heappush(self._heap, (-priority, next(self._order), meter.target.meter_id))

    def pop(self, meters: dict[int, MeterQueue]) -> Iterator[tuple[MeterQueue, int]]:
        """Valid entries, most urgent first: each meter with the priority it waited with (stale ones skipped)."""
        while self._heap:
            negative, _, meter_id = heapq.heappop(self._heap)
            meter = meters.get(meter_id)
            if meter is None or meter.active or meter.queued_priority != -negative:
                continue
            meter.queued_priority = None
            yield meter, -negative

    def __len__(self) -> int:
        return len(self._heap)
