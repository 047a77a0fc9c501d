"""Profile generic reads by date range: load profiles, billing profiles and event logs as rows in UTC.

The capture objects say what each column is: a clock (the row's timestamp), a register value (scaled with the
register's scaler_unit, read once per session), a capture time, or a raw value (status words, event codes).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from hes.connectivity.dlms.decoding import capture_objects, date_time, date_time_parts, scale, scaler_unit
from hes.connectivity.dlms.errors import LocalDlmsError, MalformedAnswer
from hes.connectivity.dlms.reads import (
    CLOCK_CLASS,
    CLOCK_TIME,
    REGISTER_LAYOUTS,
    CosemAccess,
    SessionCache,
    local_deviation,
    object_spec,
    read_clock,
    read_raw,
    value_of,
)
from hes.connectivity.dlms.values import (
    ColumnKind,
    CosemValue,
    ObjectReference,
    ProfileColumn,
    ProfileReading,
    ProfileRow,
)
from hes.obis.codes import ObisCode
from hes.obis.units import unit_symbol

__all__ = ["PROFILE_CLASS", "read_profile"]

logger = logging.getLogger(__name__)

PROFILE_CLASS = 7  # profile generic (Blue Book 4.3.6)
_CAPTURE_OBJECTS, _CAPTURE_PERIOD = 3, 4


async def read_profile(access: CosemAccess, code: ObisCode, start: datetime, end: datetime) -> ProfileReading:
    """A profile generic's rows captured from `start` to `end` (aware datetimes), read by range in GET blocks.

    The capture objects are read first (once per session), then the scaler_units of the register columns not
    yet cached, then the rows. Register columns are scaled and carry their unit; clock and capture-time columns
    are UTC datetimes; status and event-code columns stay raw integers. A row timed by null-data (IDIS
    compressed profiles) takes the previous row's time plus the capture period.

    Raises:
        UnknownObject: the code is not a profile generic of the brand profile.
        LocalDlmsError: the profile has no clock column to select a range by, or `start` is after `end`.
        DataAccessError: the meter refused the capture objects, a scaler_unit or the buffer.
        MalformedAnswer: rows that do not match the capture objects.
    """
    spec = object_spec(access.profile, code, frozenset({PROFILE_CLASS}))
    if start.tzinfo is None or end.tzinfo is None or start > end:
        raise LocalDlmsError("a profile range is two aware datetimes, start not after end")
    references = access.cache.captures.get(spec.obis)
    if references is None:
        captured = await read_raw(access, ObjectReference(PROFILE_CLASS, spec.obis, _CAPTURE_OBJECTS))
        references = capture_objects(captured)
        access.cache.captures[spec.obis] = references
    time_column = next(
        (i for i, ref in enumerate(references) if (ref.class_id, ref.attribute) == (CLOCK_CLASS, CLOCK_TIME)), None
    )
    if time_column is None:
        raise LocalDlmsError(f"{spec.obis} captures no clock: its rows cannot be selected by date")
    await _learn_scalers(access, references)
    buffer = value_of(await access.get_range(spec.obis, references[time_column], start, end))
    if access.cache.deviation is None and _local_times(buffer, time_column):
        await read_clock(access)  # rows in the meter's local time: learn its zone first
    columns = tuple(_column(access.cache, reference) for reference in references)
    rows = await _rows(access, spec.obis, columns, time_column, buffer)
    return ProfileReading(spec.obis, columns, time_column, rows)


def _local_times(buffer: CosemValue, time_column: int) -> bool:
    """Whether the first row's timestamp is a date-time without deviation (the meter's local time)."""
    first = buffer[0] if isinstance(buffer, tuple) and buffer else None
    cell = first[time_column] if isinstance(first, tuple) and len(first) > time_column else None
    parts = date_time_parts(cell) if isinstance(cell, bytes) else None
    return parts is not None and parts[1] is None


async def _learn_scalers(access: CosemAccess, references: Sequence[ObjectReference]) -> None:
    wanted = []
    for reference in references:
        layout = REGISTER_LAYOUTS.get(reference.class_id)
        cached = reference.obis in access.cache.scalers
        if layout and layout.scaler_unit and reference.attribute in layout.value and not cached:
            wanted.append(ObjectReference(reference.class_id, reference.obis, layout.scaler_unit))
    if not wanted:
        return
    for result in await access.get_attributes(wanted):
        known = scaler_unit(value_of(result))
        if known is None:
            raise MalformedAnswer(f"{result.reference.obis} scaler_unit {result.value!r} is not {{scaler, unit}}")
        access.cache.scalers[result.reference.obis] = known


def _column(cache: SessionCache, reference: ObjectReference) -> ProfileColumn:
    layout = REGISTER_LAYOUTS.get(reference.class_id)
    if (reference.class_id, reference.attribute) == (CLOCK_CLASS, CLOCK_TIME) or (
        layout is not None and reference.attribute in layout.capture_time
    ):
        return ProfileColumn(reference, ColumnKind.TIME)
    if layout is not None and layout.scaler_unit and reference.attribute in layout.value:
        scaler, unit = cache.scalers[reference.obis]
        return ProfileColumn(reference, ColumnKind.SCALED, scaler, unit_symbol(unit))
    return ProfileColumn(reference, ColumnKind.RAW)


async def _rows(
    access: CosemAccess, obis: ObisCode, columns: tuple[ProfileColumn, ...], time_column: int, buffer: CosemValue
) -> tuple[ProfileRow, ...]:
    if buffer is None:
        return ()  # gurux decodes the empty array of a range without rows as None
    if not isinstance(buffer, tuple):
        raise MalformedAnswer(f"{obis} buffer is not an array")
    rows: list[ProfileRow] = []
    previous: datetime | None = None
    for raw in buffer:
        if not isinstance(raw, tuple) or len(raw) != len(columns):
            raise MalformedAnswer(f"{obis} row does not have the {len(columns)} capture objects' values")
        values = tuple(_cell(column, cell, access.cache) for column, cell in zip(columns, raw, strict=True))
        stamp = values[time_column]
        if not isinstance(stamp, datetime):
            if previous is None or raw[time_column] is not None:
                logger.info("%s: a row without a usable timestamp skipped", obis)
                continue
            stamp = previous + timedelta(seconds=await _capture_period(access, obis))
            values = (*values[:time_column], stamp, *values[time_column + 1 :])
        rows.append(ProfileRow(stamp, values))
        previous = stamp
    return tuple(rows)


def _cell(column: ProfileColumn, cell: CosemValue, cache: SessionCache) -> CosemValue:
    if column.kind is ColumnKind.SCALED:
        return scale(cell, column.scaler or 0)
    if column.kind is ColumnKind.TIME:
        return _moment(cell, cache)
    return cell


def _moment(cell: CosemValue, cache: SessionCache) -> datetime | None:
    """A date-time cell in UTC; one without deviation is local time, placed by the clock's zone and its own
    daylight saving flag when the zone is known (a winter row read in summer keeps its winter offset)."""
    parts = date_time_parts(cell) if isinstance(cell, bytes) and cache.time_zone is not None else None
    if parts is not None and parts[1] is None and cache.time_zone is not None:
        wall, _deviation, status = parts
        return (wall + timedelta(minutes=local_deviation(cache.time_zone, status))).replace(tzinfo=UTC)
    return date_time(cell, cache.deviation)


async def _capture_period(access: CosemAccess, obis: ObisCode) -> int:
    period = access.cache.periods.get(obis)
    if period is None:
        value = await read_raw(access, ObjectReference(PROFILE_CLASS, obis, _CAPTURE_PERIOD))
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise MalformedAnswer(f"{obis} rows without timestamps, and no capture period ({value!r})")
        period = access.cache.periods[obis] = value
    return period
