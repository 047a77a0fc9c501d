"""The Ingestor: every transport submits here; one writer task turns submissions into durable micro-batches.

`submit` normalises and checks a submission in the sender's task, queues it and waits until the batch
holding it is committed. The writer takes what is queued (up to `batch_readings`, after lingering a few
milliseconds when little is waiting), writes it in one transaction and answers every sender of the
batch. The queue is bounded by readings: when it is full, `submit` waits briefly for room and then
raises `IngestOverloaded` (HTTP 503 with Retry-After), so a database that cannot keep up slows senders
down instead of growing memory or dropping data. If a batch cannot be written, every sender in it gets
the error and nothing of it is stored. Listeners hear about each batch after it is durable (`Notifier`).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hes.config import Settings
from hes.ingest import batch as batches
from hes.ingest.batch import Submission
from hes.ingest.errors import IngestClosed, IngestOverloaded, IngestUnavailable
from hes.ingest.meter_directory import MeterDirectory
from hes.ingest.normalise import Limits, normalise_events, normalise_readings
from hes.ingest.notifier import Notifier
from hes.ingest.obis_catalogue import ObisCatalogue
from hes.ingest.records import IncomingEvent, IncomingReading, IngestListener, IngestReceipt, ReadingColumns

logger = logging.getLogger(__name__)

READINGS = Counter("hes_ingest_readings_total", "Readings submitted to ingest, by outcome", ["outcome"])
# Bound once: looking a labelled child up costs more than the increment, on every submission.
_STORED, _DUPLICATE = READINGS.labels("stored"), READINGS.labels("duplicate")
_REJECTED, _OVERLOADED = READINGS.labels("rejected"), READINGS.labels("overloaded")
QUEUED = Gauge("hes_ingest_queued", "Readings and events waiting for (or in) a database write")
BATCH_SECONDS = Histogram("hes_ingest_batch_seconds", "Time to write one ingest micro-batch")
# Deadlock and serialisation failures: another writer held the same rows; the batch is simply retried.
_RETRY_SQLSTATES = frozenset({"40P01", "40001"})
# SQLSTATE classes of a server that could not do the work now (connection exception, transaction rollback,
# insufficient resources, operator intervention such as a shutdown, system error): the senders retry.
# Any other class (data exception 22, integrity 23, ...) means the data itself was refused.
_TRANSIENT_SQLSTATE_CLASSES = frozenset({"08", "40", "53", "57", "58"})


@dataclass(frozen=True, slots=True)
class IngestSettings:
    """Batch size, linger, queue bound and timeouts of the ingest writer (from `Settings`)."""

    # Senders wait for their answer before sending more, so what is queued is about what they keep in flight. A
    # batch limit above that lets one writer take it all while the others idle: 10,000 kept two writers busy
    # where 100,000 left them idle 30-50 % of the time, at 1.4-2.9x the HTTP rate (bench/ingest.py).
    batch_readings: int = 10_000
    writers: int = 2
    linger: float = 0.005
    queue_readings: int = 500_000
    submit_wait: float = 2.0
    write_timeout: float = 30.0
    retry_after: int = 1
    future_tolerance: timedelta = timedelta(minutes=5)

    @classmethod
    def from_settings(cls, settings: Settings) -> IngestSettings:
        """The ingest part of the process settings."""
        return cls(
            batch_readings=settings.ingest_batch_readings,
            writers=settings.ingest_writers,
            linger=settings.ingest_linger_ms / 1000,
            queue_readings=settings.ingest_queue_readings,
            submit_wait=settings.ingest_submit_wait_seconds,
            write_timeout=settings.ingest_write_timeout_seconds,
            future_tolerance=timedelta(seconds=settings.ingest_future_tolerance_seconds),
        )


class Ingestor:
    """The one ingest path: normalise, queue with back-pressure, write in micro-batches, tell listeners."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: IngestSettings,
        directory: MeterDirectory,
        catalogue: ObisCatalogue,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._limits = Limits(settings.future_tolerance)
        self.directory = directory
        self.catalogue = catalogue
        self._notifier = Notifier(directory)
        self._queue: deque[Submission] = deque()
        self._queued_size = 0  # waiting plus being written: what the bound applies to
        self._work = asyncio.Event()
        self._room = asyncio.Condition()
        self._writers: list[asyncio.Task[None]] = []
        self._closing = False

    def subscribe(self, listener: IngestListener) -> None:
        """Tell `listener` about every batch stored from now on (after it is durable, in order)."""
        self._notifier.subscribe(listener)

    def unsubscribe(self, listener: IngestListener) -> None:
        """Stop telling `listener`."""
        self._notifier.unsubscribe(listener)

    @property
    def queued(self) -> int:
        """Readings and events accepted for writing and not yet answered."""
        return self._queued_size

    async def submit(
        self, readings: Sequence[IncomingReading] | ReadingColumns, events: Sequence[IncomingEvent] = ()
    ) -> IngestReceipt:
        """Store readings (and events); return once they are durable, with what was new, repeated or refused.

        Readings for unknown meters, with naive or far-future timestamps, with values that are not finite
        numbers or in a unit of another quantity than their code's are refused in the receipt; the rest is
        stored, in the unit of its code (kWh sent for a Wh register is stored as Wh).

        Raises:
            IngestOverloaded: the queue stayed full for `submit_wait` seconds; retry after `retry_after`.
            IngestUnavailable: the batch could not be written (database unreachable, timeout); nothing stored.
            IngestClosed: the ingestor is shutting down.
        """
        if self._closing:
            raise IngestClosed()
        columns = readings if isinstance(readings, ReadingColumns) else ReadingColumns.of(readings)
        try:
            known = await self.directory.known_ids(set(columns.meter_ids).union(event.meter_id for event in events))
            stored_units = await self.catalogue.units_of(columns.codes)
        except (DBAPIError, OSError) as error:
            raise IngestUnavailable(retry_after=self._settings.retry_after) from error
        now = datetime.now(UTC)
        clean, rejected = normalise_readings(columns, now, self._limits, known, stored_units)
        kept_events, rejected_events = normalise_events(events, now, self._limits, known)
        if rejected:
            _REJECTED.inc(len(rejected))
        loop = asyncio.get_running_loop()
        submission = Submission(clean, kept_events, tuple(rejected), tuple(rejected_events), loop.create_future())
        if submission.size == 0:
            return IngestReceipt(0, 0, submission.rejected, 0, 0, submission.rejected_events)
        await self._reserve(submission.size)
        self._queue.append(submission)
        self._work.set()
        self._start()
        receipt = await submission.future
        _STORED.inc(receipt.accepted)
        _DUPLICATE.inc(receipt.duplicates)
        return receipt

    async def settled(self) -> None:
        """Return once every submission so far is written and its listeners told (tests, orderly shutdown)."""
        async with self._room:
            await self._room.wait_for(lambda: self._queued_size == 0)
        await self._notifier.settled()

    async def close(self) -> None:
        """Take no more submissions, write what is queued, tell the listeners, stop."""
        self._closing = True
        self._work.set()
        writers, self._writers = self._writers, []
        await asyncio.gather(*writers)
        await self._notifier.close()

    def _start(self) -> None:
        # Several writers, so one batch's commit (a WAL flush) overlaps the next batch's statements. Their
        # row locks are taken in key order (latest values, meters), so they wait for each other rather
        # than deadlock; a deadlock on repeated readings is retried (see `_transaction`).
        self._writers = [writer for writer in self._writers if not writer.done()]
        for number in range(len(self._writers), self._settings.writers):
            self._writers.append(asyncio.create_task(self._run(), name=f"hes-ingest-writer-{number}"))

    async def _reserve(self, size: int) -> None:
        bound = self._settings.queue_readings

        # An empty queue always takes a submission, however large: the body size limit bounds it.
        def fits() -> bool:
            return self._queued_size == 0 or self._queued_size + size <= bound

        if not fits():  # the usual case skips the lock: nothing can change between check and update
            try:
                async with asyncio.timeout(self._settings.submit_wait), self._room:
                    await self._room.wait_for(fits)
            except TimeoutError:
                _OVERLOADED.inc(size)
                raise IngestOverloaded(self._settings.retry_after) from None
        self._queued_size += size
        QUEUED.set(self._queued_size)

    async def _release(self, size: int) -> None:
        self._queued_size -= size
        QUEUED.set(self._queued_size)
        async with self._room:
            self._room.notify_all()

    async def _run(self) -> None:
        while True:
            if not self._queue:
                if self._closing:
                    return
                self._work.clear()
                await self._work.wait()
                continue
            if self._settings.linger and not self._closing and self._waiting() < self._settings.batch_readings:
                await asyncio.sleep(self._settings.linger)  # let a few more senders join this batch
                if not self._queue:
                    continue  # another writer took it meanwhile
            taken = self._take()
            try:
                await self._write(taken)
            except Exception as error:  # never let the writer die with senders waiting
                logger.exception("ingest writer failed on a batch")
                _fail(taken, error)
            finally:
                await self._release(sum(submission.size for submission in taken))

    def _waiting(self) -> int:
        return sum(submission.size for submission in self._queue)

    def _take(self) -> list[Submission]:
        taken = [self._queue.popleft()]
        size = taken[0].size
        while self._queue and size + self._queue[0].size <= self._settings.batch_readings:
            submission = self._queue.popleft()
            taken.append(submission)
            size += submission.size
        return taken

    async def _write(self, taken: list[Submission]) -> None:
        try:
            written = await self._transaction(taken)
        except Exception as error:
            if _is_transient(error):
                logger.warning("ingest batch not written (%d senders told to retry): %s", len(taken), error)
                for submission in taken:
                    _settle(submission, IngestUnavailable(retry_after=self._settings.retry_after))
                return
            if len(taken) > 1:
                # One sender's bad row must not fail the others: write each submission on its own.
                logger.warning("ingest batch refused by the database, writing its %d parts alone", len(taken))
                for submission in taken:
                    try:
                        await self._write([submission])
                    except Exception as part_error:
                        _settle(submission, part_error)
                return
            raise
        for submission, receipt in zip(taken, batches.receipts(taken, written), strict=True):
            _settle(submission, receipt)
        await self._notifier.hand_over(taken, written)

    async def _transaction(self, taken: list[Submission]) -> batches.Written:
        with BATCH_SECONDS.time():
            async with asyncio.timeout(self._settings.write_timeout):
                obis_ids = await self.catalogue.ids_of(batches.codes_of(taken))
                for attempt in (1, 2):
                    try:
                        async with self._sessions() as session:
                            return await batches.write(session, taken, obis_ids, datetime.now(UTC))
                    except DBAPIError as error:
                        if attempt == 2 or _sqlstate(error) not in _RETRY_SQLSTATES:
                            raise
                        logger.info("ingest batch met a concurrent writer (%s); retrying", _sqlstate(error))
        raise AssertionError("unreachable")  # pragma: no cover


def _settle(submission: Submission, outcome: IngestReceipt | BaseException) -> None:
    if submission.future.done():  # the sender gave up waiting (cancelled); its data is stored regardless
        return
    if isinstance(outcome, BaseException):
        submission.future.set_exception(outcome)
    else:
        submission.future.set_result(outcome)


def _fail(taken: list[Submission], error: BaseException) -> None:
    for submission in taken:
        _settle(submission, error)


def _is_transient(error: BaseException) -> bool:
    """True for a database that is down, unreachable or too slow; False for one that refused the data."""
    if isinstance(error, TimeoutError | OSError):
        return True
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    state = _sqlstate(error)
    if state is None:  # the driver's own failure (connection closed, protocol): nothing was judged
        return not isinstance(error, DataError | IntegrityError | ProgrammingError)
    return state[:2] in _TRANSIENT_SQLSTATE_CLASSES


def _sqlstate(error: DBAPIError) -> str | None:
    """The SQLSTATE the server answered with, wherever the driver keeps it."""
    cause: BaseException | None = error
    while cause is not None:
        state = getattr(cause, "sqlstate", None)
        if state:
            return str(state)
        cause = cause.__cause__ or getattr(cause, "orig", None)
    return None
