"""Normalise what is submitted before it queues: UTC timestamps, none naive or too far ahead, finite values.

Checks run over whole columns first (C-level `map`, `min`, `max`), so a clean batch costs a few passes over
its lists; only a batch with a fault is walked reading by reading to say which ones are refused.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from operator import attrgetter

from hes.ingest.records import IncomingEvent, ReadingColumns, Rejection

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
    columns: ReadingColumns, now: datetime, limits: Limits, known_meters: Collection[int]
) -> tuple[ReadingColumns, list[Rejection]]:
    """The readings that may be stored (timestamps in UTC) and those refused, by position in `columns`.

    A reading for a meter id not in `known_meters` is refused (readings carry no foreign key, on purpose).

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
    if _all_clean(columns, latest, known_meters):
        return columns, []
    return _per_reading(columns, latest, known_meters)


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


def _per_reading(
    columns: ReadingColumns, latest: datetime, known_meters: Collection[int]
) -> tuple[ReadingColumns, list[Rejection]]:
    keep: list[int] = []
    timestamps: list[datetime] = []
    rejected: list[Rejection] = []
    readings = zip(columns.meter_ids, columns.timestamps, columns.values, strict=True)
    for index, (meter_id, moment, value) in enumerate(readings):
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
        keep.append(index)
        timestamps.append(moment if moment.tzinfo is UTC else moment.astimezone(UTC))
    kept = columns.take(keep)
    return replace(kept, timestamps=timestamps, values=[float(value) for value in kept.values]), rejected


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
