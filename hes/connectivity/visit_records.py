"""What each session with a meter leaves behind: an attempt outcome for the statistics, an event when it failed.

Visits end hundreds of times a second in a polling wave; writing each on its own would cost a transaction each.
Outcomes and events wait in a buffer written every `interval` seconds, or as soon as `batch` outcomes wait:
outcomes through hes.services.communication_stats (one transaction), failure events through the ingest path
(category communication, type `communication_failed`, the error's type, DLMS code and message in the details).
A write that fails is logged and its records kept for the next flush (up to a bound), never raised at a session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hes.connectivity.dlms import DlmsError
from hes.connectivity.visits import VisitReport
from hes.db.enums import EventCategory, Severity
from hes.ingest.ingestor import Ingestor
from hes.ingest.records import IncomingEvent
from hes.services import communication_stats
from hes.services.communication_stats import AttemptOutcome

__all__ = ["COMMUNICATION_FAILED", "VisitRecorder", "failure_event"]

logger = logging.getLogger(__name__)

COMMUNICATION_FAILED = "communication_failed"
# Records kept at most while the database does not take them: a minute of a busy polling wave.
_MAX_BUFFERED = 100_000
_MAX_MESSAGE = 200


def failure_event(report: VisitReport) -> IncomingEvent:
    """The communication event of a failed session."""
    error = report.error
    assert error is not None
    code = error.code if isinstance(error, DlmsError) else None
    return IncomingEvent(
        meter_id=report.target.meter_id,
        event_type=COMMUNICATION_FAILED,
        timestamp=report.at,
        category=EventCategory.COMMUNICATION,
        severity=Severity.WARNING,
        details={
            "error": type(error).__name__,
            "dlmsCode": code,
            "message": str(error)[:_MAX_MESSAGE],
            "attempt": report.attempt,
            "jobs": ",".join(dict.fromkeys(report.jobs)),
            "channel": report.target.channel.value,
        },
    )


class VisitRecorder:
    """Buffers attempt outcomes and failure events of visits and writes them in batches."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        ingestor: Ingestor,
        *,
        interval: float = 1.0,
        batch: int = 1_000,
    ) -> None:
        self._sessions = sessions
        self._ingestor = ingestor
        self._interval = interval
        self._batch = batch
        self._outcomes: list[AttemptOutcome] = []
        self._events: list[IncomingEvent] = []
        self._due = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._flushing = asyncio.Lock()

    def record(self, report: VisitReport) -> None:
        """Keep the outcome of one visit (the dispatcher's on_visit callback; never raises, never waits)."""
        if not report.reached:
            # A dial-in meter connected to another instance (or not at all) is routine; unusable settings are not.
            level = logging.WARNING if isinstance(report.error, ValueError) else logging.DEBUG
            logger.log(level, "meter %s not reached: %s", report.target.meter_number, report.error)
            return
        if len(self._outcomes) >= _MAX_BUFFERED:
            logger.warning("attempt outcome of meter %s dropped: the buffer is full", report.target.meter_number)
            return
        self._outcomes.append(
            AttemptOutcome(report.target.meter_id, report.at, report.ok, _bounded_ms(report.round_trip_ms))
        )
        if not report.ok:
            self._events.append(failure_event(report))
        if len(self._outcomes) >= self._batch:
            self._due.set()

    async def start(self) -> None:
        """Start writing in the background."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="hes-dlms-visit-records")

    async def stop(self) -> None:
        """Stop the background writer and write what is buffered."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.flush()

    async def flush(self) -> None:
        """Write what is buffered now."""
        async with self._flushing:
            outcomes, self._outcomes = self._outcomes, []
            events, self._events = self._events, []
            if outcomes:
                try:
                    async with self._sessions() as session:
                        await communication_stats.record_attempts(session, outcomes)
                except Exception as error:  # the database is away: keep them for the next flush
                    logger.warning("%d attempt outcomes not written yet: %s", len(outcomes), error)
                    self._outcomes[:0] = outcomes[: _MAX_BUFFERED - len(self._outcomes)]
            if events:
                try:
                    await self._ingestor.submit((), events)
                except Exception as error:
                    logger.warning("%d communication events not written yet: %s", len(events), error)
                    self._events[:0] = events[: _MAX_BUFFERED - len(self._events)]

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._interval):
                    await self._due.wait()
            self._due.clear()
            await self.flush()


def _bounded_ms(value: int | None) -> int | None:
    return None if value is None else max(0, min(value, 2**31 - 1))
