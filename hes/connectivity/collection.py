"""Collection jobs: what each kind reads in a meter's session, and storing it through the ingest path.

- registers: the clock (a `clock_drift` event past the threshold) and the brand's main registers
  (hes.connectivity.catalogue.main_registers), stamped with the HES's time of the read;
- load profile: 1-0:99.1.0.255 over the job's range; billing: the daily and monthly billing profiles;
- events: the brand's event logs, each row an event.
A job stores only what it read completely: it submits once, after its last read, so a session that fails half-way
stores nothing of that job (a profile the meter refuses, DataAccessError, is left out and the rest stored). The
submission runs off the session (AfterSession): the meter's link is not held while the ingest path writes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast

from hes.connectivity.catalogue import (
    LOAD_PROFILE,
    CollectionKind,
    Priority,
    billing_profiles,
    event_logs,
    has_load_profile,
    main_registers,
)
from hes.connectivity.dlms import ClockReading, DataAccessError, DlmsSession, ProfileReading
from hes.connectivity.job_queue import AfterSession, MeterJob
from hes.connectivity.meter_links import MeterTarget
from hes.connectivity.read_values import number, profile_events, profile_readings, register_readings
from hes.db.enums import EventCategory, ReadingQuality, ReadingSource, Severity
from hes.ingest.errors import IngestClosed, IngestOverloaded, IngestUnavailable
from hes.ingest.ingestor import Ingestor
from hes.ingest.records import NO_READINGS, IncomingEvent, IngestReceipt, ReadingColumns
from hes.obis.codes import ObisCode

__all__ = ["CLOCK_DRIFT", "Collected", "Collector", "MeterValue", "applies_to"]

logger = logging.getLogger(__name__)

CLOCK_DRIFT = "clock_drift"
_FIRST_READ = timedelta(days=1)  # how far back a profile goes when nothing of it is stored yet
_BILLING_LOOKBACK = timedelta(days=32)  # a month: the latest monthly billing row and every daily one since
_SOURCE = ReadingSource.DLMS_POLL
_STORE_ATTEMPTS = 3
_MAX_STORE_WAIT = 2.0  # seconds between attempts to store


@dataclass(frozen=True, slots=True)
class Collected:
    """What one collection job stored."""

    kind: CollectionKind
    readings: int
    duplicates: int
    events: int
    rejected: int = 0


@dataclass(frozen=True, slots=True)
class MeterValue:
    """One value of an on-demand read; `value` None when the meter refused the object (quality missing)."""

    obis: ObisCode
    value: float | None
    unit: str | None
    timestamp: datetime
    quality: ReadingQuality


def applies_to(kind: CollectionKind, brand: str) -> bool:
    """Whether the brand has anything for `kind` (Hexcell lists no billing profile generic, for one)."""
    if kind is CollectionKind.LOAD_PROFILE:
        return has_load_profile(brand)
    if kind is CollectionKind.BILLING:
        return bool(billing_profiles(brand))
    if kind is CollectionKind.EVENTS:
        return bool(event_logs(brand))
    return True


class Collector:
    """Builds collection jobs and the on-demand read, and stores what they read."""

    def __init__(self, ingestor: Ingestor, clock_drift: float, now: Callable[[], datetime] | None = None) -> None:
        self._ingestor = ingestor
        self._clock_drift = timedelta(seconds=clock_drift)
        self._now = now or (lambda: datetime.now(UTC))

    def job(
        self,
        target: MeterTarget,
        kind: CollectionKind,
        *,
        priority: int = Priority.POLL_PROFILE,
        retries: int = 0,
        start: datetime | None = None,
        end: datetime | None = None,
        key: str | None = None,
    ) -> MeterJob[Collected]:
        """A job reading `kind` from the meter (profiles from `start`, by default a day back, to `end` or now).

        What it read is stored after its reads, off the session (AfterSession): the job's result is what was stored.
        """

        async def work(session: DlmsSession) -> AfterSession[Collected]:
            if kind is CollectionKind.REGISTERS:
                readings, events = await self._registers(session, target)
            else:
                until = end or self._now()
                if kind is CollectionKind.EVENTS:
                    since = start or until - _FIRST_READ
                    readings, events = NO_READINGS, await self._events(session, target, since, until)
                else:
                    codes = (LOAD_PROFILE,) if kind is CollectionKind.LOAD_PROFILE else billing_profiles(target.brand)
                    lookback = _FIRST_READ if kind is CollectionKind.LOAD_PROFILE else _BILLING_LOOKBACK
                    readings, events = (
                        await self._profiles(session, target, codes, start or until - lookback, until),
                        [],
                    )

            async def store() -> Collected:
                return _collected(kind, await self._store(readings, events))

            return AfterSession(store)

        return MeterJob(kind.value, work, priority=priority, retries=retries, key=key)

    async def read_now(
        self, session: DlmsSession, target: MeterTarget, codes: Sequence[ObisCode]
    ) -> AfterSession[list[MeterValue]]:
        """Read `codes` (registers of the brand profile) now; after the session, store the values that came."""
        registers = await session.read_registers(codes)
        read_at = _second(self._now())

        async def store() -> list[MeterValue]:
            await self._store(ReadingColumns.of(register_readings(target.meter_id, registers, read_at, _SOURCE)), [])
            values: list[MeterValue] = []
            for register in registers:
                amount = number(register.value) if register.ok else None
                quality = ReadingQuality.GOOD if amount is not None else ReadingQuality.MISSING
                moment = register.capture_time or read_at
                values.append(MeterValue(register.obis, amount, register.unit, moment, quality))
            return values

        return AfterSession(store)

    async def _registers(self, session: DlmsSession, target: MeterTarget) -> tuple[ReadingColumns, list[IncomingEvent]]:
        clock = await session.read_clock()
        registers = await session.read_registers(main_registers(target.brand))
        readings = register_readings(target.meter_id, registers, _second(clock.hes_time), _SOURCE)
        events = [self._drift_event(target, clock)] if abs(clock.drift) > self._clock_drift else []
        return ReadingColumns.of(readings), events

    async def _profiles(
        self, session: DlmsSession, target: MeterTarget, codes: Sequence[ObisCode], start: datetime, end: datetime
    ) -> ReadingColumns:
        profiles = [profile for code in codes if (profile := await _read(session, code, start, end)) is not None]
        return _joined([profile_readings(target.meter_id, profile, _SOURCE) for profile in profiles])

    async def _events(
        self, session: DlmsSession, target: MeterTarget, start: datetime, end: datetime
    ) -> list[IncomingEvent]:
        events: list[IncomingEvent] = []
        for code in event_logs(target.brand):
            log = await _read(session, code, start, end)
            if log is not None:
                events += profile_events(target.meter_id, log)
        return events

    def _drift_event(self, target: MeterTarget, clock: ClockReading) -> IncomingEvent:
        drift = clock.drift.total_seconds()
        return IncomingEvent(
            meter_id=target.meter_id,
            event_type=CLOCK_DRIFT,
            timestamp=_second(clock.hes_time),
            category=EventCategory.TECHNICAL,
            severity=Severity.WARNING,
            details={"driftSeconds": round(drift, 1), "meterTime": clock.meter_time.isoformat()},
        )

    async def _store(self, readings: ReadingColumns, events: Sequence[IncomingEvent]) -> IngestReceipt:
        if not len(readings) and not events:
            return IngestReceipt(0, 0)
        for attempt in range(1, _STORE_ATTEMPTS + 1):
            try:
                receipt = await self._ingestor.submit(readings, events)
                break
            except IngestClosed:
                raise
            except (IngestOverloaded, IngestUnavailable) as busy:
                # What the meter sent is in hand: wait as ingest asks rather than read the meter again.
                if attempt == _STORE_ATTEMPTS:
                    raise
                await asyncio.sleep(min(busy.retry_after, _MAX_STORE_WAIT))
        if receipt.rejected or receipt.rejected_events:
            first = (receipt.rejected or receipt.rejected_events)[0]
            logger.info(
                "%d readings and %d events refused by ingest (first: %s %s)",
                len(receipt.rejected), len(receipt.rejected_events), first.field, first.reason,
            )  # fmt: skip
        return receipt


async def _read(session: DlmsSession, code: ObisCode, start: datetime, end: datetime) -> ProfileReading | None:
    """A profile's rows over the range; None when the meter refuses it (the session goes on)."""
    try:
        return await session.read_profile(code, start, end)
    except DataAccessError as refused:
        logger.info("meter %s refused profile %s: %s", session.link.meter_number, code, refused)
        return None


def _joined(parts: Sequence[ReadingColumns]) -> ReadingColumns:
    """One column set of several (billing reads two profiles), their code lists merged."""
    if len(parts) == 1:
        return parts[0]
    codes: dict[ObisCode, int] = {}
    code_index: list[int] = []
    joined: tuple[list[object], ...] = ([], [], [], [], [], [])
    for part in parts:
        remap = [codes.setdefault(code, len(codes)) for code in part.codes]
        code_index += [remap[index] for index in part.code_index]
        fields = (part.meter_ids, part.timestamps, part.values, part.units, part.qualities, part.sources)
        for column, field_values in zip(joined, fields, strict=True):
            column.extend(field_values)
    meter_ids, timestamps, values, units, qualities, sources = joined
    return ReadingColumns(
        meter_ids=cast(list[int], meter_ids),
        codes=list(codes),
        code_index=code_index,
        timestamps=cast(list[datetime], timestamps),
        values=cast(list[float], values),
        units=cast(list[str | None], units),
        qualities=cast(list[ReadingQuality], qualities),
        sources=cast(list[ReadingSource], sources),
    )


def _collected(kind: CollectionKind, receipt: IngestReceipt) -> Collected:
    rejected = len(receipt.rejected) + len(receipt.rejected_events)
    return Collected(kind, receipt.accepted, receipt.duplicates, receipt.events_accepted, rejected)


def _second(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)
