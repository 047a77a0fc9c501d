"""Keeps the consumption rollups current: an ingest listener, the rebuild it runs, backfill and catch-up.

The listener only notes which hours of which energy-register series a stored batch touched; a background
task rebuilds those hours from the readings every ten seconds (a meter's many readings in one hour cost one
rebuild). A rebuilt hour is a function of the readings alone, so repeated, late or out-of-order
batches give the same rows, and never count twice. Each rebuild also refreshes the next stored hour (its
advance starts from the rebuilt hour's end) and the days involved.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hes.db.store import consumption_rollups as store
from hes.db.store import obis_codes
from hes.db.store.consumption_rollups import DayKey, HourRecord, SeriesRange
from hes.db.tables import Meter
from hes.ingest.records import StoredBatch
from hes.obis.codes import ObisCode
from hes.services.energy_registers import (
    ENERGY_REGISTERS,
    Anchor,
    EnergyRegister,
    HourRow,
    RegisterScale,
    hour_index,
    hour_rows,
    hour_start,
    start_index,
)

logger = logging.getLogger(__name__)

PENDING = Gauge("hes_consumption_rollup_pending", "Series-hours stored but not yet rolled up")
REBUILT = Counter("hes_consumption_rollup_hours_total", "Hour rows rebuilt from readings")
DROPPED = Counter("hes_consumption_rollup_dropped_total", "Series-hours given up after failures (run a backfill)")
FLUSH_SECONDS = Histogram(
    "hes_consumption_rollup_flush_seconds", "Time to roll up what ingest stored since the last flush"
)

_ONE_HOUR = timedelta(hours=1)
_ONE_MICROSECOND = timedelta(microseconds=1)
_HOURS_PER_DAY = 24  # UTC days: hour index // 24 is the day index, both counted from 1970-01-01
_EPOCH_DAY = date(1970, 1, 1)
Series = tuple[int, int]  # (meter id, OBIS id)
Run = tuple[int, int]  # first and last hour index, both included


@dataclass(frozen=True, slots=True)
class RollupSettings:
    """How often the listener rolls up, how much it may hold, and how big one rebuild transaction gets."""

    # Rollups are hourly figures: ten seconds behind is current enough, and a burst of readings for the same hours
    # (a gateway uploading its backlog) is then rolled up once rather than once per second.
    flush_seconds: float = 10.0
    max_pending: int = 200_000  # series-hours; past it, ingest waits for a flush (back-pressure)
    series_per_transaction: int = 2_000
    window_hours: int = 168  # a long range is rebuilt a week at a time, oldest first
    run_gap_hours: int = 24  # touched hours further apart than this are rebuilt as separate ranges
    catch_up: bool = True  # on start, roll up what a crash left behind


@dataclass
class _Registers:
    """OBIS ids and unit scales of the catalogue's registers, looked up once."""

    ids: dict[ObisCode, int] = field(default_factory=dict)
    scales: dict[int, RegisterScale] = field(default_factory=dict)

    async def load(self, session: AsyncSession, registers: Sequence[EnergyRegister]) -> None:
        missing = [register.obis for register in registers if register.obis not in self.ids]
        if not missing:
            return
        found = await obis_codes.ids_of(session, missing)
        entries = await obis_codes.entries(session, list(found.values()))
        self.ids.update(found)
        self.scales.update({obis_id: RegisterScale.for_unit(entry.unit) for obis_id, entry in entries.items()})


async def rebuild(
    sessions: async_sessionmaker[AsyncSession],
    runs: Mapping[Series, Sequence[Run]],
    scales: Mapping[int, RegisterScale],
    settings: RollupSettings = RollupSettings(),
) -> int:
    """Rebuild the hour and day rows of each series' runs of hours from its readings; returns hour rows written.

    Each series' runs go oldest first (a later run steps on from an earlier one's end); each chunk of series
    is one transaction.
    """
    written = 0
    for wave in _waves(runs, settings.window_hours):
        for start in range(0, len(wave), settings.series_per_transaction):
            chunk = wave[start : start + settings.series_per_transaction]
            async with sessions() as session:
                written += await _rebuild_chunk(session, chunk, scales)
                await session.commit()
    REBUILT.inc(written)
    return written


def _waves(runs: Mapping[Series, Sequence[Run]], window_hours: int) -> list[list[SeriesRange]]:
    """Wave n holds every series' n-th window, so one series' windows are rebuilt in time order."""
    waves: list[list[SeriesRange]] = []
    for (meter_id, obis_id), series_runs in sorted(runs.items()):
        windows = [
            (first, min(first + window_hours - 1, last))
            for run_first, last in sorted(series_runs)
            for first in range(run_first, last + 1, window_hours)
        ]
        for number, (first, last) in enumerate(windows):
            if number == len(waves):
                waves.append([])
            # Readings in (start of the first hour, end of the last hour] belong to these hours.
            waves[number].append(SeriesRange(meter_id, obis_id, hour_start(first), hour_start(last + 1)))
    return waves


async def _rebuild_chunk(session: AsyncSession, ranges: list[SeriesRange], scales: Mapping[int, RegisterScale]) -> int:
    await store.lock_rollups(session)
    anchors = await store.anchors(session, ranges)
    following = await store.next_hours(session, ranges)
    readings = await store.register_readings(session, ranges)
    # The next stored hour after each range steps on from the range's end: rebuild it too.
    next_ranges = [
        SeriesRange(ranges[idx].meter_id, ranges[idx].obis_id, hour, hour + _ONE_HOUR)
        for idx, hour in following.items()
    ]
    next_readings = await store.register_readings(session, next_ranges)
    upserts: list[HourRecord] = []
    removals: list[tuple[int, int, datetime]] = []
    days: set[DayKey] = set()
    nexts = dict(zip(following, range(len(next_ranges)), strict=True))
    for idx, window in enumerate(ranges):
        found = readings.get(idx)
        if not found:
            continue  # nothing stored in the range (or retention dropped it): leave its rollups alone
        anchored = anchors.get(idx)
        anchor = Anchor(start_index(anchored[0]), anchored[1]) if anchored else None
        rows = hour_rows(anchor, [*found, *next_readings.get(nexts.get(idx, -1), [])], scales[window.obis_id])
        upserts.extend(_record(window, row) for row in rows)
        first, last = start_index(window.after), start_index(window.until) - 1
        present = {row.hour for row in rows}
        removals.extend(
            (window.meter_id, window.obis_id, hour_start(hour))
            for hour in range(first, last + 1)
            if hour not in present
        )
        # The range's days and those of rows past it (the next stored hour): one key per day, not per hour.
        touched = set(range(first // _HOURS_PER_DAY, last // _HOURS_PER_DAY + 1))
        touched.update(hour // _HOURS_PER_DAY for hour in present)
        days.update(DayKey(window.meter_id, window.obis_id, _EPOCH_DAY + timedelta(days=day)) for day in touched)
    await store.upsert_hours(session, upserts)
    await store.delete_hours(session, removals)
    await _refresh_days(session, sorted(days, key=lambda key: (key.meter_id, key.obis_id, key.day)))
    return len(upserts)


def _record(window: SeriesRange, row: HourRow) -> HourRecord:
    # resets and rollovers are smallint columns; thousands in one hour would be a broken sender anyway.
    return HourRecord(
        window.meter_id,
        window.obis_id,
        hour_start(row.hour),
        row.first_value,
        row.last_value,
        row.delta,
        row.samples,
        min(row.resets, 32_767),
        min(row.rollovers, 32_767),
        row.complete,
    )


async def _refresh_days(session: AsyncSession, days: list[DayKey]) -> None:
    sums = await store.day_sums(session, days)
    await store.upsert_days(session, sums)
    kept = {(record.meter_id, record.obis_id, record.day) for record in sums}
    await store.delete_days(session, [key for key in days if (key.meter_id, key.obis_id, key.day) not in kept])


def runs_of(hours: Iterable[int], gap: int) -> list[Run]:
    """Sorted hour indexes grouped into runs; hours more than `gap` apart start a new run."""
    runs: list[Run] = []
    for hour in sorted(set(hours)):
        if runs and hour - runs[-1][1] <= gap:
            runs[-1] = (runs[-1][0], hour)
        else:
            runs.append((hour, hour))
    return runs


async def backfill(
    sessions: async_sessionmaker[AsyncSession],
    start: datetime,
    end: datetime,
    meter_ids: Collection[int] | None = None,
    settings: RollupSettings = RollupSettings(),
    registers: Sequence[EnergyRegister] = ENERGY_REGISTERS,
) -> int:
    """Rebuild the rollups of readings in (`start`, `end`] for these meters (None: every meter); returns hour rows.

    For data stored before the rollups existed, or after a crash lost a flush. Ranges without readings are left
    as they are, so a backfill over months whose readings retention already dropped keeps their rollups.
    """
    catalogue = _Registers()
    async with sessions() as session:
        await catalogue.load(session, registers)
        ids = sorted(meter_ids) if meter_ids is not None else list(await session.scalars(select(Meter.id)))
    run = (hour_index(start + _ONE_MICROSECOND), hour_index(end))
    if run[0] > run[1]:
        return 0
    runs = {(meter_id, obis_id): [run] for meter_id in ids for obis_id in catalogue.scales}
    return await rebuild(sessions, runs, catalogue.scales, settings)


async def catch_up(
    sessions: async_sessionmaker[AsyncSession],
    settings: RollupSettings = RollupSettings(),
    registers: Sequence[EnergyRegister] = ENERGY_REGISTERS,
) -> int:
    """Roll up what was stored but not rolled up before a stop: each series from its newest hour row on.

    The newest hour is always rebuilt, since readings may have joined it after its last rebuild; a series without
    rows is built from its first reading. Late readings older than a series' newest hour row that a crash left
    un-rolled are not found this way; `backfill` covers them.
    """
    catalogue = _Registers()
    async with sessions() as session:
        await catalogue.load(session, registers)
        if not catalogue.scales:
            return 0
        ends = await store.series_ends(session, list(catalogue.scales))
        unstarted = [(meter_id, obis_id) for meter_id, obis_id, _, newest in ends if newest is None]
        oldest = await store.first_reading_times(session, unstarted)
    runs: dict[Series, list[Run]] = {}
    for meter_id, obis_id, latest, newest in ends:
        if newest is not None:
            runs[(meter_id, obis_id)] = [(start_index(newest), max(start_index(newest), hour_index(latest)))]
        elif (meter_id, obis_id) in oldest:
            runs[(meter_id, obis_id)] = [(hour_index(oldest[(meter_id, obis_id)]), hour_index(latest))]
    return await rebuild(sessions, runs, catalogue.scales, settings) if runs else 0


class ConsumptionRollups:
    """The ingest listener that keeps consumption_hourly and consumption_daily current."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: RollupSettings = RollupSettings(),
        registers: Sequence[EnergyRegister] = ENERGY_REGISTERS,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._registers = tuple(registers)
        # Pending hours are keyed by (meter id, position of the register in `registers`).
        self._numbers = {register.obis: number for number, register in enumerate(self._registers)}
        self._catalogue = _Registers()
        self._pending: dict[tuple[int, int], set[int]] = defaultdict(set)
        self._pending_count = 0
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._catching_up = False

    async def batch_stored(self, batch: StoredBatch) -> None:
        """Note the hours the batch's energy readings fall in; wait for a flush when too much is pending."""
        readings, pending = batch.readings, self._pending
        # Per distinct code once: which register it is, if any. Hours are worked out once per distinct time (a
        # batch holds many meters' readings of the same few instants).
        numbers = [self._numbers.get(code) for code in readings.codes]
        if all(number is None for number in numbers):
            return
        hours_of: dict[datetime, int] = {}
        added = 0
        for meter_id, index, moment in zip(readings.meter_ids, readings.code_index, readings.timestamps, strict=True):
            number = numbers[index]
            if number is None:
                continue
            hour = hours_of.get(moment)
            if hour is None:
                hour = hours_of[moment] = hour_index(moment)
            hours = pending[(meter_id, number)]
            before = len(hours)
            hours.add(hour)
            added += len(hours) - before
        self._pending_count += added
        PENDING.set(self._pending_count)
        if self._pending_count > self._settings.max_pending:
            await self.flush()

    def start(self) -> None:
        """Start the background task (catch-up first when the settings ask for it)."""
        if self._task is None:
            self._stopping.clear()
            self._task = asyncio.create_task(self._run(), name="hes-consumption-rollups")

    async def close(self) -> None:
        """Stop the background task (a catch-up still running is abandoned) and roll up what is still pending."""
        self._stopping.set()
        if self._task is not None:
            task, self._task = self._task, None
            if self._catching_up:
                task.cancel()  # the next start catches up again; a rebuild is idempotent
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.flush()

    async def flush(self) -> int:
        """Roll up every pending hour now; returns hour rows written. On failure the hours stay pending."""
        async with self._lock:
            if not self._pending:
                return 0
            taken, self._pending = self._pending, defaultdict(set)
            count, self._pending_count = self._pending_count, 0
            try:
                with FLUSH_SECONDS.time():
                    return await self._roll_up(taken)
            except BaseException:  # cancelled too: the hours must stay pending
                self._give_back(taken, count)
                raise
            finally:
                PENDING.set(self._pending_count)

    async def _roll_up(self, taken: Mapping[tuple[int, int], set[int]]) -> int:
        async with self._sessions() as session:
            await self._catalogue.load(session, self._registers)
        ids = self._catalogue.ids
        gap = self._settings.run_gap_hours
        codes = [register.obis for register in self._registers]
        runs = {
            (meter_id, ids[codes[number]]): runs_of(hours, gap)
            for (meter_id, number), hours in taken.items()
            if codes[number] in ids
        }
        return await rebuild(self._sessions, runs, self._catalogue.scales, self._settings)

    def _give_back(self, taken: Mapping[tuple[int, int], set[int]], count: int) -> None:
        if self._pending_count + count > self._settings.max_pending:
            logger.error("consumption rollups: dropped %d pending series-hours after a failure; run a backfill", count)
            DROPPED.inc(count)
            return
        for key, hours in taken.items():
            self._pending[key] |= hours
        self._pending_count = sum(map(len, self._pending.values()))

    async def _run(self) -> None:
        if self._settings.catch_up:
            self._catching_up = True
            try:
                written = await catch_up(self._sessions, self._settings, self._registers)
                if written:
                    logger.info("consumption rollups caught up: %d hour rows rebuilt", written)
            except Exception:
                logger.exception("consumption rollup catch-up failed; run a backfill")
            finally:
                self._catching_up = False
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._settings.flush_seconds)
            try:
                await self.flush()
            except Exception:
                logger.exception("consumption rollup flush failed; retrying on the next tick")
