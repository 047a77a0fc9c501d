"""A-XDR encoding of what the HES sends (IEC 62056-6-2 4.1.5 and 4.1.6): `DlmsData` in, octets out (no I/O).

The session hands these octets to gurux as an already-encoded value, so what goes on the wire is exactly what the
caller typed, with no guessing of types from Python values.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta

from hes.connectivity.dlms.errors import LocalDlmsError
from hes.connectivity.dlms.values import BitString, DataType, DlmsData

__all__ = ["date_time_octets", "encode", "encode_length"]

_FIXED = {
    DataType.INTEGER: (1, True),
    DataType.LONG: (2, True),
    DataType.DOUBLE_LONG: (4, True),
    DataType.LONG64: (8, True),
    DataType.UNSIGNED: (1, False),
    DataType.ENUM: (1, False),
    DataType.BCD: (1, False),
    DataType.LONG_UNSIGNED: (2, False),
    DataType.DOUBLE_LONG_UNSIGNED: (4, False),
    DataType.LONG64_UNSIGNED: (8, False),
}
_OCTETS_OF = {DataType.DATE_TIME: 12, DataType.DATE: 5, DataType.TIME: 4}  # fixed-length octet types
_MAX_DEVIATION = 720  # minutes either side of UTC (IEC 62056-6-2 4.1.6.1)


def encode_length(length: int) -> bytes:
    """An A-XDR length or element count: one octet below 128, else 0x8n and n octets."""
    if length < 0x80:
        return bytes((length,))
    size = (length.bit_length() + 7) // 8
    return bytes((0x80 | size,)) + length.to_bytes(size, "big")


def encode(data: DlmsData) -> bytes:
    """`data` as A-XDR octets, tag first.

    Raises:
        LocalDlmsError: a value that does not fit its type (a str for an octet-string, a float for a bit-string).
    """
    value, tag = data.value, data.type
    head = bytes((tag,))
    if tag is DataType.NULL_DATA:
        return head
    if tag is DataType.BOOLEAN and isinstance(value, bool):
        return head + (b"\x01" if value else b"\x00")
    fixed = _FIXED.get(tag)
    if fixed is not None and isinstance(value, int) and not isinstance(value, bool):
        size, signed = fixed
        return head + value.to_bytes(size, "big", signed=signed)
    if tag in (DataType.STRUCTURE, DataType.ARRAY) and isinstance(value, tuple):
        items = [item for item in value if isinstance(item, DlmsData)]
        if len(items) == len(value):
            return head + encode_length(len(items)) + b"".join(encode(item) for item in items)
    if tag is DataType.OCTET_STRING and isinstance(value, bytes):
        return head + encode_length(len(value)) + value
    if tag is DataType.VISIBLE_STRING and isinstance(value, str):
        text = value.encode("ascii")
        return head + encode_length(len(text)) + text
    if tag is DataType.UTF8_STRING and isinstance(value, str):
        text = value.encode()
        return head + encode_length(len(text)) + text
    if tag is DataType.BIT_STRING and isinstance(value, BitString):
        return head + encode_length(value.length) + value.octets
    if tag is DataType.FLOAT32 and isinstance(value, int | float) and not isinstance(value, bool):
        return head + struct.pack(">f", value)
    if tag is DataType.FLOAT64 and isinstance(value, int | float) and not isinstance(value, bool):
        return head + struct.pack(">d", value)
    if tag in _OCTETS_OF and isinstance(value, bytes) and len(value) == _OCTETS_OF[tag]:
        return head + value
    if tag is DataType.DATE_TIME and isinstance(value, datetime):
        return head + date_time_octets(value)
    raise LocalDlmsError(f"{type(value).__name__} value cannot be encoded as {tag.name.lower()}")


def date_time_octets(moment: datetime, deviation: int = 0) -> bytes:
    """An aware `moment` as a 12-octet date-time in the local time `deviation` gives (minutes, UTC - local).

    Raises:
        LocalDlmsError: a naive datetime (whose zone nobody knows), or a deviation past +/-720 minutes.
    """
    if moment.tzinfo is None:
        raise LocalDlmsError("a date-time sent to a meter must be timezone-aware")
    if not -_MAX_DEVIATION <= deviation <= _MAX_DEVIATION:
        raise LocalDlmsError(f"deviation {deviation} is not -720..720 minutes")
    local = moment.astimezone(UTC) - timedelta(minutes=deviation)
    hundredths = local.microsecond // 10_000
    return (
        local.year.to_bytes(2, "big")
        + bytes((local.month, local.day, local.isoweekday(), local.hour, local.minute, local.second, hundredths))
        + deviation.to_bytes(2, "big", signed=True)
        + b"\x00"  # clock status: ok, daylight saving not flagged
    )
