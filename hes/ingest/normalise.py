"""Normalise what is submitted before it queues: UTC timestamps, none naive or too far ahead, finite values.

Checks run over whole columns first (C-level `map`, `min`, `max`), so a clean batch costs a few passes over
its lists; only a batch with a fault is walked reading by reading to say which ones are refused.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from operator import attrgetter

from hes.ingest import units
from hes.ingest.records import IncomingEvent, ReadingColumns, Rejection
from hes.obis.codes import ObisCode

# Largest magnitude a reading may have. An energy register in Wh on a large CT meter stays far below
# 1e15 (a petawatt-hour); anything above is a unit or scaler mistake, and float8 keeps only 15-16
# significant digits, so such a value could not be told apart from its neighbours anyway.
MAX_ABS_VALUE = 1e15
_tzinfo = attrgetter("tzinfo")
UNKNOWN_METER = "unknown_meter"


@dataclass(frozen=True, slots=True)
class Limits:
    """How far ahead of the HES clock a timestamp may be (meter clocks drift; a little is tolerated)."""

    future_tolerance: timedelta


def normalise_readings(
    columns: ReadingColumns,
    now: datetime,
    limits: Limits,
    known_meters: Collection[int],
    stored_units: Mapping[ObisCode, str | None] | None = None,
) -> tuple[ReadingColumns, list[Rejection]]:
    """The readings that may be stored (timestamps in UTC, values in `stored_units`) and those refused, by position.

    A reading for a meter id not in `known_meters` is refused (readings carry no foreign key, on purpose). A
    value sent in another unit of the same quantity than its code's stored unit (kWh for Wh) is converted; one
    in a unit of another quantity is refused (`units.WRONG_UNIT`). Codes missing from `stored_units` keep the
    values as sent.

    Raises:
        ValueError: the columns have different lengths or an OBIS index points nowhere (a caller's bug).
    """
    size = len(columns.meter_ids)
    lengths = {len(column) for column in _columns(columns)}
    if lengths != {size}:
        raise ValueError(f"reading columns differ in length: {sorted(lengths)}")
    if size == 0:
        return columns, []
    if min(columns.code_index) < 0 or max(columns.code_index) >= len(columns.codes):
        raise ValueError("an OBIS index points outside the batch's codes")
    latest = now + limits.future_tolerance
    stored_units = stored_units or {}
    units_of = _Units(_unit_factors(columns, stored_units), stored_units)
    if _all_clean(columns, latest, known_meters):
        if all(by == 1.0 for by in units_of.factors.values()):
            return columns, []
        if None not in units_of.factors.values():
            return _in_stored_units(columns, units_of), []
    return _per_reading(columns, latest, known_meters, units_of)


def normalise_events(
    events: Sequence[IncomingEvent], now: datetime, limits: Limits, known_meters: Collection[int]
) -> tuple[list[IncomingEvent], list[Rejection]]:
    """The events that may be stored (times in UTC) and those refused, by position in `events`."""
    latest = now + limits.future_tolerance
    kept: list[IncomingEvent] = []
    rejected: list[Rejection] = []
    for index, event in enumerate(events):
        if event.meter_id not in known_meters:
            rejected.append(Rejection(index, "meterId", UNKNOWN_METER, event.meter_id))
            continue
        problem = _time_problem(event.timestamp, latest)
        if problem is not None:
            rejected.append(Rejection(index, "timestamp", problem, event.timestamp.isoformat()))
            continue
        moment = event.timestamp
        kept.append(event if moment.tzinfo is UTC else replace(event, timestamp=moment.astimezone(UTC)))
    return kept, rejected


def _columns(columns: ReadingColumns) -> tuple[Sequence[object], ...]:
    return (
        columns.meter_ids,
        columns.code_index,
        columns.timestamps,
        columns.values,
        columns.units,
        columns.qualities,
        columns.sources,
    )


def _all_clean(columns: ReadingColumns, latest: datetime, known_meters: Collection[int]) -> bool:
    """True when every meter is known, every timestamp UTC and not past `latest`, every value finite and in range."""
    if not set(columns.meter_ids).issubset(known_meters):
        return False
    if set(map(_tzinfo, columns.timestamps)) != {UTC}:
        return False  # naive or another offset: sorted out (or converted) one by one
    if max(columns.timestamps) > latest:
        return False
    values = columns.values
    try:
        if not all(map(math.isfinite, values)):
            return False
    except TypeError:
        return False  # not a number at all
    return min(values) >= -MAX_ABS_VALUE and max(values) <= MAX_ABS_VALUE


@dataclass(frozen=True, slots=True)
class _Units:
    """Per (code index, unit sent): the factor to the stored unit (None: another quantity); the stored units."""

    factors: Mapping[tuple[int, str | None], float | None]
    stored: Mapping[ObisCode, str | None]


def _unit_factors(
    columns: ReadingColumns, stored_units: Mapping[ObisCode, str | None]
) -> dict[tuple[int, str | None], float | None]:
    # Per distinct (code, unit) pair, not per reading: a batch holds few of them.
    codes = columns.codes
    return {
        (index, unit): units.factor(unit, stored_units.get(codes[index]))
        for index, unit in set(zip(columns.code_index, columns.units, strict=True))
    }


def _in_stored_units(columns: ReadingColumns, stored: _Units) -> ReadingColumns:
    """Clean readings, some sent in another unit of their quantity (kWh for Wh): converted column by column."""
    factor_of = {pair: by for pair, by in stored.factors.items() if by is not None}  # none is None here
    factors = [factor_of[pair] for pair in zip(columns.code_index, columns.units, strict=True)]
    return replace(
        columns,
        values=[units.converted(value, by) for value, by in zip(columns.values, factors, strict=True)],
        units=[
            unit if by == 1.0 else stored.stored[columns.codes[code]]
            for code, unit, by in zip(columns.code_index, columns.units, factors, strict=True)
        ],
    )


def _per_reading(
    columns: ReadingColumns, latest: datetime, known_meters: Collection[int], stored: _Units
) -> tuple[ReadingColumns, list[Rejection]]:
    keep: list[int] = []
    timestamps: list[datetime] = []
    values: list[float] = []
    units_kept: list[str | None] = []
    rejected: list[Rejection] = []
    fields = (columns.meter_ids, columns.code_index, columns.timestamps, columns.values, columns.units)
    for index, (meter_id, code, moment, value, unit) in enumerate(zip(*fields, strict=True)):
        if meter_id not in known_meters:
            rejected.append(Rejection(index, "meterId", UNKNOWN_METER, meter_id))
            continue
        problem = _time_problem(moment, latest)
        if problem is not None:
            rejected.append(Rejection(index, "timestamp", problem, _shown_time(moment)))
            continue
        problem = _value_problem(value)
        if problem is not None:
            rejected.append(Rejection(index, "value", problem, value if isinstance(value, int | float) else None))
            continue
        by = stored.factors[(code, unit)]
        if by is None:
            rejected.append(Rejection(index, "unit", units.WRONG_UNIT, unit))
            continue
        keep.append(index)
        timestamps.append(moment if moment.tzinfo is UTC else moment.astimezone(UTC))
        values.append(units.converted(float(value), by))
        units_kept.append(unit if by == 1.0 else stored.stored[columns.codes[code]])
    kept = columns.take(keep)
    return replace(kept, timestamps=timestamps, values=values, units=units_kept), rejected


def _time_problem(moment: object, latest: datetime) -> str | None:
    if not isinstance(moment, datetime):
        return "wrong_type"
    if moment.tzinfo is None or moment.utcoffset() is None:
        return "naive_timestamp"
    if moment > latest:
        return "future_timestamp"
    return None


def _value_problem(value: object) -> str | None:
    if not isinstance(value, int | float):  # bool included: a boolean register reads as 0 or 1
        return "wrong_type"
    if not math.isfinite(value):
        return "not_finite"
    if abs(value) > MAX_ABS_VALUE:
        return "out_of_range"
    return None


def _shown_time(moment: object) -> str | None:
    return moment.isoformat() if isinstance(moment, datetime) else None
