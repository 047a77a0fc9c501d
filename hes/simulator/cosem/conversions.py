"""Plain values to COSEM `Data` of a profile's type, and the checks a SET makes (IEC 62056-6-2 4.1.5, 4.1.6).

A profile names each attribute's type ("double-long-unsigned", "octet-string[12]"); a meter state hands over plain
Python values. These helpers put the two together: typing, register scaling, date-time octets in the meter's
time zone, and the zero value a meter shows before it knows better.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, tzinfo

from hes.obis.profile_types import AttributeSpec
from hes.simulator.cosem.state import RowValue
from hes.simulator.dlms.date_time import DEVIATION_NOT_SPECIFIED, decode_date_time, encode_date_time
from hes.simulator.dlms.errors import RemoteProtocolError
from hes.simulator.dlms.values import INTEGER_WIDTHS, NULL, BitString, Data, DataType, array, structure

__all__ = [
    "DATE_TIME_SIZE",
    "UNSPECIFIED_DATE_TIME",
    "capture_definition",
    "data_type",
    "decode_time",
    "default_data",
    "deviation_minutes",
    "encode_time",
    "fits",
    "plain_data",
    "scaled",
    "to_data",
    "zero_data",
]

DATE_TIME_SIZE = 12  # octets of a date-time (IEC 62056-6-2 4.1.6.1)
# A date-time with every field "not specified" (year 0xFFFF, 0xFF fields, deviation 0x8000, status 0xFF): what
# a meter shows for a date it does not have (a daylight-saving start that is not configured).
UNSPECIFIED_DATE_TIME = bytes((0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x80, 0x00, 0xFF))

_BY_NAME = {member.name.lower().replace("_", "-"): member for member in DataType}
_STRINGS = (DataType.OCTET_STRING, DataType.VISIBLE_STRING, DataType.UTF8_STRING)


def data_type(name: str) -> DataType:
    """The DataType of a profile type name ("long-unsigned" -> LONG_UNSIGNED).

    Raises:
        ValueError: not a type name.
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"{name!r} is not an IEC 62056-6-2 data type") from None


def deviation_minutes(moment: datetime) -> int:
    """The date-time deviation of an aware moment: minus its UTC offset in minutes (CET, UTC+1, is -60)."""
    offset = moment.utcoffset()
    return DEVIATION_NOT_SPECIFIED if offset is None else -(offset // timedelta(minutes=1))


def encode_time(moment: datetime, zone: tzinfo | None) -> bytes:
    """The 12 date-time octets of `moment` shown in the meter's time zone `zone`."""
    local = moment.astimezone(zone) if zone is not None and moment.utcoffset() is not None else moment
    return encode_date_time(local)


def decode_time(raw: bytes, zone: tzinfo | None) -> datetime | None:
    """The moment 12 date-time octets name: a time without deviation is the meter's local time.

    Returns None for octets that are not one moment (wildcards) or not a valid date-time.
    """
    try:
        moment = decode_date_time(raw)
    except RemoteProtocolError:
        return None
    if moment is not None and moment.utcoffset() is None and zone is not None:
        moment = moment.replace(tzinfo=zone)
    return moment


def fits(value: Data, spec: AttributeSpec) -> bool:
    """Whether a value written by a client has the attribute's type (and at most its size, for strings)."""
    if value.type != data_type(spec.data_type):
        return False
    if spec.size is not None and value.type in _STRINGS and isinstance(value.value, bytes | str):
        return len(value.value) <= spec.size
    return True


def to_data(value: RowValue, type_name: str, size: int | None = None, zone: tzinfo | None = None) -> Data:
    """A plain value as Data of a profile type; a Data passes through unchanged.

    Strings become octets (UTF-8) for octet-string; a moment becomes date-time octets; an integer becomes a
    bit-string of `size` bits (8 if not given).

    Raises:
        ValueError: the value cannot be that type (text for an integer, 70,000 for a long-unsigned).
    """
    if isinstance(value, Data):
        return value
    if value is None:
        return NULL
    target = data_type(type_name)
    if isinstance(value, datetime):
        raw = encode_time(value, zone)
        if target in (DataType.OCTET_STRING, DataType.DATE_TIME):
            return Data(target, raw)
        raise ValueError(f"a moment cannot be {type_name}")
    if target in INTEGER_WIDTHS:
        if isinstance(value, str | bytes) or not math.isfinite(value):
            raise ValueError(f"{value!r} is not a number for {type_name}")
        return Data(target, round(value))
    return _other(value, target, size)


def _other(value: int | float | str | bytes | bool, target: DataType, size: int | None) -> Data:
    if target is DataType.BOOLEAN:
        return Data(target, bool(value))
    if target in (DataType.FLOAT32, DataType.FLOAT64) and isinstance(value, int | float):
        return Data(target, float(value))
    if target is DataType.OCTET_STRING and isinstance(value, str | bytes):
        return Data(target, value.encode("utf-8") if isinstance(value, str) else value)
    if target in (DataType.VISIBLE_STRING, DataType.UTF8_STRING) and isinstance(value, str | bytes):
        return Data(target, value if isinstance(value, str) else value.decode("latin-1"))
    if target is DataType.BIT_STRING and isinstance(value, int) and not isinstance(value, bool):
        bits = size or 8
        if not 0 <= value < 1 << bits:
            raise ValueError(f"{value} does not fit a bit-string of {bits} bits")
        return Data(target, BitString(bits, value.to_bytes((bits + 7) // 8, "big")))
    raise ValueError(f"{value!r} cannot be {target.name.lower().replace('_', '-')}")


def plain_data(value: RowValue, zone: tzinfo | None = None) -> Data:
    """A value whose type no profile gives, typed by its Python type (int as double-long, str as visible-string).

    Raises:
        ValueError: an integer beyond a double-long.
    """
    if value is None or isinstance(value, Data):
        return to_data(value, "null-data")
    guesses = ((bool, "boolean"), (int, "double-long"), (float, "float64"), (str, "visible-string"))
    for python_type, type_name in guesses:
        if isinstance(value, python_type):
            return to_data(value, type_name)
    return to_data(value, "octet-string", zone=zone)


def zero_data(type_name: str, size: int | None = None) -> Data:
    """What an attribute shows before anything is known: 0, false, empty, "not specified" for a date-time."""
    target = data_type(type_name)
    if target in INTEGER_WIDTHS:
        return Data(target, 0)
    if target is DataType.OCTET_STRING:
        return Data(target, UNSPECIFIED_DATE_TIME if size == DATE_TIME_SIZE else b"")
    zeros: dict[DataType, Data] = {
        DataType.BOOLEAN: Data(DataType.BOOLEAN, False),
        DataType.VISIBLE_STRING: Data(DataType.VISIBLE_STRING, ""),
        DataType.UTF8_STRING: Data(DataType.UTF8_STRING, ""),
        DataType.BIT_STRING: Data(DataType.BIT_STRING, BitString(size or 8, bytes(((size or 8) + 7) // 8))),
        DataType.FLOAT32: Data(DataType.FLOAT32, 0.0),
        DataType.FLOAT64: Data(DataType.FLOAT64, 0.0),
        DataType.ARRAY: array(),
        DataType.DATE_TIME: Data(DataType.DATE_TIME, UNSPECIFIED_DATE_TIME),
    }
    # A structure of unknown members (a vendor's parameter block) shows as null-data rather than a wrong shape.
    return zeros.get(target, NULL)


def default_data(spec: AttributeSpec) -> Data | None:
    """The attribute's default from the profile as Data, or None when there is none (or it does not fit)."""
    if spec.default is None or spec.references:
        return None
    text = spec.default
    target = data_type(spec.data_type)
    try:
        if target is DataType.BOOLEAN:
            return Data(target, text.lower() in ("true", "1", "yes"))
        if target in INTEGER_WIDTHS:
            return Data(target, int(text))
        return to_data(text, spec.data_type, spec.size)
    except ValueError:
        return None


def scaled(quantity: float, scaler: int, type_name: str) -> Data:
    """A quantity in its unit as the raw value of a register with `scaler` (1234.5 Wh, scaler 1 -> 123).

    Unsigned registers roll over past their width as meter registers do; signed ones stop at their limits.

    Raises:
        ValueError: the quantity is not a finite number.
    """
    if not math.isfinite(quantity):
        raise ValueError(f"{quantity} is not a measurement")
    target = data_type(type_name)
    raw = quantity / 10.0**scaler
    if target in (DataType.FLOAT32, DataType.FLOAT64):
        return Data(target, raw)
    width = INTEGER_WIDTHS.get(target)
    if width is None:
        raise ValueError(f"a register value cannot be {type_name}")
    signed, octets = width
    whole = round(raw)
    if signed:
        limit = 1 << (8 * octets - 1)
        return Data(target, max(-limit, min(limit - 1, whole)))
    return Data(target, whole % (1 << (8 * octets)) if whole >= 0 else 0)


def capture_definition(class_id: int, logical_name: bytes, attribute: int, data_index: int) -> Data:
    """A capture_object_definition (IEC 62056-6-2, profile generic): class, logical name, attribute, data index."""
    return structure(
        Data(DataType.LONG_UNSIGNED, class_id),
        Data(DataType.OCTET_STRING, logical_name),
        Data(DataType.INTEGER, attribute),
        Data(DataType.LONG_UNSIGNED, data_index),
    )
