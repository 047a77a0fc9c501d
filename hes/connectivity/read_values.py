"""How what a session read becomes ingest records: registers and profile rows to readings, log rows to events.

Pure functions over the DLMS engine's values (already scaled, timestamps in UTC): numbers become readings under
the captured object's OBIS code; AMR profile status bits mark a row's values suspect; each event log row becomes
one event, typed through the meter event code catalogue (hes.ingest.event_codes) from its event code column, or
from the log itself when its rows carry none (hes.connectivity.catalogue.LOG_EVENTS).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from hes.connectivity.catalogue import LOG_EVENTS, STATUS_QUALITY_BITS, LogEvent, is_amr_status
from hes.connectivity.dlms import BitString, ColumnKind, CosemValue, ProfileReading, RegisterReading
from hes.db.enums import EventCategory, ReadingQuality, ReadingSource, Severity
from hes.ingest.event_codes import UNKNOWN_EVENT_TYPE, describe
from hes.ingest.records import IncomingEvent, IncomingReading, ReadingColumns
from hes.obis.codes import ObisCode

__all__ = ["number", "profile_events", "profile_readings", "register_readings"]

_DATA_CLASS = 1
DetailValue = str | int | float | bool | None


def number(value: CosemValue) -> float | None:
    """A value as a reading's number: numbers and booleans as they are, a status bit-string as its integer."""
    if isinstance(value, bool | int | float):
        return float(value)
    if isinstance(value, BitString):
        return float(int.from_bytes(value.octets, "big")) if value.octets else 0.0
    return None


def register_readings(
    meter_id: int, registers: Sequence[RegisterReading], read_at: datetime, source: ReadingSource
) -> list[IncomingReading]:
    """Readings of the registers that answered with a number: at their capture time if they have one, else `read_at`."""
    readings: list[IncomingReading] = []
    for register in registers:
        value = number(register.value) if register.ok else None
        if value is None:
            continue
        moment = register.capture_time or read_at
        readings.append(IncomingReading(meter_id, register.obis, moment, value, register.unit, source=source))
    return readings


def profile_readings(meter_id: int, profile: ProfileReading, source: ReadingSource) -> ReadingColumns:
    """The numbers of a profile's scaled columns, one reading per row and column (column form, for ingest)."""
    scaled = [(index, column) for index, column in enumerate(profile.columns) if column.kind is ColumnKind.SCALED]
    status_at = next(
        (
            index
            for index, column in enumerate(profile.columns)
            if column.kind is ColumnKind.RAW and is_amr_status(column.reference.obis)
        ),
        None,
    )
    codes: dict[ObisCode, int] = {}
    positions = [codes.setdefault(column.reference.obis, len(codes)) for _, column in scaled]
    units = [column.unit for _, column in scaled]
    code_index: list[int] = []
    timestamps: list[datetime] = []
    values: list[float] = []
    value_units: list[str | None] = []
    qualities: list[ReadingQuality] = []
    for row in profile.rows:
        status = row.values[status_at] if status_at is not None else None
        suspect = isinstance(status, int) and not isinstance(status, bool) and status & STATUS_QUALITY_BITS
        quality = ReadingQuality.SUSPECT if suspect else ReadingQuality.GOOD
        for (index, _), position, unit in zip(scaled, positions, units, strict=True):
            value = number(row.values[index])
            if value is None:
                continue
            code_index.append(position)
            timestamps.append(row.timestamp)
            values.append(value)
            value_units.append(unit)
            qualities.append(quality)
    size = len(values)
    return ReadingColumns(
        meter_ids=[meter_id] * size,
        codes=list(codes),
        code_index=code_index,
        timestamps=timestamps,
        values=values,
        units=value_units,
        qualities=qualities,
        sources=[source] * size,
    )


def profile_events(meter_id: int, log: ProfileReading) -> list[IncomingEvent]:
    """One event per row of an event log, typed by its event code column or by the log itself."""
    columns = log.columns
    code_at = next(
        (
            index
            for index, column in enumerate(columns)
            if column.kind is ColumnKind.RAW
            and column.reference.class_id == _DATA_CLASS
            and not is_amr_status(column.reference.obis)
        ),
        None,
    )
    implied = LOG_EVENTS.get(log.obis)
    events: list[IncomingEvent] = []
    for row in log.rows:
        details: dict[str, DetailValue] = {"log": str(log.obis)}
        for index, column in enumerate(columns):
            value = row.values[index]
            if index in (log.time_column, code_at):
                continue
            if column.kind is ColumnKind.TIME and isinstance(value, datetime):
                details["endedAt"] = value.isoformat()
            elif column.kind is ColumnKind.SCALED and (amount := number(value)) is not None:
                details[str(column.reference.obis)] = amount
        raw_code = row.values[code_at] if code_at is not None else None
        code = raw_code if isinstance(raw_code, int) and not isinstance(raw_code, bool) else None
        events.append(_event(meter_id, row.timestamp, code, implied, details))
    return events


def _event(
    meter_id: int, moment: datetime, code: int | None, implied: LogEvent | None, details: dict[str, DetailValue]
) -> IncomingEvent:
    if code is None and implied is not None:
        if implied.code is None:
            return IncomingEvent(
                meter_id, implied.event_type, moment, implied.category, implied.severity, None, details
            )
        code = implied.code
    described = describe(code) if code is not None else None
    if described is None:
        return IncomingEvent(
            meter_id, UNKNOWN_EVENT_TYPE, moment, EventCategory.TECHNICAL, Severity.INFO, code, details
        )  # fmt: skip
    if described.phase is not None:
        details["phase"] = described.phase
    return IncomingEvent(
        meter_id, described.event_type, moment, described.category, described.severity, code, details
    )  # fmt: skip
