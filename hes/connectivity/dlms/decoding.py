"""Decoded A-XDR values as HES Core's own types: gurux's value objects in, plain values out (no I/O).

gurux decodes an answer into int subclasses, bytearrays, lists (structures, arrays), GXBitString and
GXDateTime; `plain` turns that into a `CosemValue` so no gurux type leaves this package. Date-times travel as
12-octet octet-strings (IEC 62056-6-2 4.1.6.1) and are decoded here, deviation applied, to UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

from gurux_dlms import GXBitString, GXDateTime  # type: ignore[import-untyped]

from hes.connectivity.dlms.errors import MalformedAnswer
from hes.connectivity.dlms.values import BitString, CosemValue, ObjectReference
from hes.obis.codes import ObisCode

__all__ = [
    "DATE_TIME_LENGTH",
    "DEVIATION_UNSPECIFIED",
    "capture_objects",
    "date_time",
    "date_time_parts",
    "plain",
    "scale",
    "scaler_unit",
]

DATE_TIME_LENGTH = 12  # year (2), month, day, weekday, hour, minute, second, hundredths, deviation (2), status
DEVIATION_UNSPECIFIED = -0x8000  # 0x8000 in the deviation field: local time, zone not given
_UNSPECIFIED = 0xFF
_MAX_DEVIATION = 720  # minutes either side of UTC (IEC 62056-6-2 4.1.6.1)


def plain(value: Any) -> CosemValue:
    """A value as gurux decoded it, as a CosemValue (structures and arrays become tuples).

    Raises:
        MalformedAnswer: a value of a kind no A-XDR type decodes to.
    """
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)  # gurux's GXUInt8 & co. are int subclasses
    if isinstance(value, float):
        return float(value)
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, list | tuple):
        return tuple(plain(item) for item in value)
    if isinstance(value, GXBitString):
        octets = bytes(value.value)
        return BitString(octets, len(octets) * 8 - int(value.pad_bits or 0))
    if isinstance(value, GXDateTime):
        return _gurux_date_time(value)
    raise MalformedAnswer(f"a value of unexpected kind {type(value).__name__}")


def _gurux_date_time(value: Any) -> datetime | None:
    # A date-time sent with the date-time tag (rare: meters send octet-strings); gurux gives a datetime.
    moment = value.value
    if not isinstance(moment, datetime):
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def date_time_parts(octets: bytes) -> tuple[datetime, int | None, int | None] | None:
    """A 12-octet date-time as (local wall time, deviation, clock status); None when it names no moment.

    The wall time is naive; deviation is in minutes, UTC minus local time (IEC 62056-6-2: UTC+1 is -60), None
    when unspecified; status is the clock status octet, None when unspecified. Unspecified hundredths count as
    0; an unspecified year, month, day, hour, minute or second (a wildcard, not a moment) gives None.
    """
    if len(octets) != DATE_TIME_LENGTH:
        return None
    year = octets[0] << 8 | octets[1]
    month, day, _weekday, hour, minute, second, hundredths = octets[2:9]
    if year == 0xFFFF or _UNSPECIFIED in (month, day, hour, minute, second) or month > 12 or day > 31:
        return None
    try:
        microseconds = 0 if hundredths == _UNSPECIFIED else hundredths * 10_000
        wall = datetime(year, month, day, hour, minute, second, microseconds)
    except ValueError:
        return None
    deviation: int | None = int.from_bytes(octets[9:11], "big", signed=True)
    if deviation == DEVIATION_UNSPECIFIED or deviation is None or abs(deviation) > _MAX_DEVIATION:
        deviation = None
    status = None if octets[11] == _UNSPECIFIED else octets[11]
    return wall, deviation, status


def date_time(value: CosemValue, default_deviation: int | None = None) -> datetime | None:
    """A date-time value (12 octets, or a datetime already) as an aware UTC datetime; None when it names none.

    A date-time without deviation is the meter's local time: `default_deviation` (the meter's, from its clock)
    converts it, and without one it is taken as UTC.
    """
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    if not isinstance(value, bytes):
        return None
    parts = date_time_parts(value)
    if parts is None:
        return None
    wall, deviation, _status = parts
    if deviation is None:
        deviation = default_deviation or 0
    return (wall + timedelta(minutes=deviation)).replace(tzinfo=UTC)


def scaler_unit(value: CosemValue) -> tuple[int, int] | None:
    """A scaler_unit structure {scaler integer, unit enum} as (scaler, unit); None when it is not one."""
    if isinstance(value, tuple) and len(value) == 2:
        scaler, unit = value
        if isinstance(scaler, int) and isinstance(unit, int) and not isinstance(scaler, bool):
            return scaler, unit
    return None


def scale(value: CosemValue, scaler: int) -> CosemValue:
    """A raw register value times 10^scaler; a value that is not a number comes back unchanged.

    Dividing by 10^-scaler gives the correctly rounded decimal (12345 with scaler -3 is 12.345, not
    12.345000000000001 as multiplying by 0.001 would).
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    if scaler == 0:
        return value
    if scaler < 0:
        return value / cast(int, 10**-scaler)
    return value * cast(int, 10**scaler)


def capture_objects(value: CosemValue) -> tuple[ObjectReference, ...]:
    """A profile generic's capture_objects (attribute 3): array of {class_id, logical_name, attribute, index}.

    Raises:
        MalformedAnswer: the value is not such an array.
    """
    if not isinstance(value, tuple):
        raise MalformedAnswer("capture_objects is not an array")
    return tuple(_capture_definition(item) for item in value)


def _capture_definition(item: CosemValue) -> ObjectReference:
    if isinstance(item, tuple) and len(item) == 4:
        class_id, logical_name, attribute, data_index = item
        if (
            isinstance(class_id, int)
            and isinstance(logical_name, bytes)
            and len(logical_name) == 6
            and isinstance(attribute, int)
            and isinstance(data_index, int)
        ):
            return ObjectReference(class_id, ObisCode.parse(logical_name), attribute, data_index)
    raise MalformedAnswer("a capture object definition is not {class_id, logical_name, attribute, data_index}")
