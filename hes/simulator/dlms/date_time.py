"""The COSEM date-time (IEC 62056-6-2 4.1.6.1): the 12 octets a clock, a profile row or a push carries.

Layout: year (2), month, day, weekday (1 = Monday), hour, minute, second, hundredths, deviation (signed 16,
minutes), clock_status. Any field may be "not specified"; such octets, or a schedule pattern, are no instant and
decode to None. Decoding is for hostile input (a field out of range raises RemoteProtocolError); encoding a value
that cannot be put on the wire raises LocalProtocolError. The A-XDR codec of whole `Data` values is `axdr`.
"""

from __future__ import annotations

import struct
from datetime import datetime, timedelta, timezone

from hes.simulator.dlms.errors import LocalProtocolError, RemoteProtocolError

__all__ = ["CLOCK_STATUS_OK", "DEVIATION_NOT_SPECIFIED", "decode_date_time", "encode_date_time"]

# IEC 62056-6-2 4.1.6.1 date-time fields.
DEVIATION_NOT_SPECIFIED = 0x8000  # the deviation field's "not specified" value (as an unsigned 16-bit word)
CLOCK_STATUS_OK = 0x00  # clock_status with no flag set
_NOT_SPECIFIED = 0xFF  # month, day, weekday, hour, minute, second, hundredths, status "not specified"
_YEAR_NOT_SPECIFIED = 0xFFFF
_MONTH_DAY_PATTERNS = (0xFD, 0xFE)  # DST begin/end months, last/second-last day of month: schedule patterns
_MAX_DEVIATION = 720  # minutes, IEC 62056-6-2 4.1.6.1
_DATE_TIME_SIZE = 12


def encode_date_time(value: datetime, deviation_minutes: int | None = None, status: int = CLOCK_STATUS_OK) -> bytes:
    """Encode a date-time as the 12 octets of IEC 62056-6-2 4.1.6.1.

    Layout: year (2), month, day, weekday (1 = Monday), hour, minute, second, hundredths, deviation (signed 16,
    minutes), clock_status.

    Args:
        value: the moment; microseconds are truncated to hundredths.
        deviation_minutes: the deviation field as sent; None derives it from an aware `value` as minus its UTC
            offset (the Blue Book sign, "local time to UTC": CET, UTC+1, is -60; gurux-dlms agrees) and uses
            DEVIATION_NOT_SPECIFIED for a naive one. Pass DEVIATION_NOT_SPECIFIED to leave it unspecified.
        status: the clock_status octet (0x80 = daylight saving active; 0xFF = not specified).

    Raises:
        LocalProtocolError: deviation outside -720..720 (and not the "not specified" value), status not an octet,
            a UTC offset that is not a whole number of minutes.
    """
    if deviation_minutes is None:
        offset = value.utcoffset()
        if offset is None:
            deviation_minutes = DEVIATION_NOT_SPECIFIED
        else:
            if offset % timedelta(minutes=1):
                raise LocalProtocolError(f"UTC offset {offset} is not whole minutes")
            deviation_minutes = -(offset // timedelta(minutes=1))
    if deviation_minutes == DEVIATION_NOT_SPECIFIED:
        deviation_word = DEVIATION_NOT_SPECIFIED
    elif -_MAX_DEVIATION <= deviation_minutes <= _MAX_DEVIATION:
        deviation_word = deviation_minutes & 0xFFFF
    else:
        raise LocalProtocolError(f"deviation {deviation_minutes} is outside -{_MAX_DEVIATION}..{_MAX_DEVIATION}")
    if not 0 <= status <= 0xFF:
        raise LocalProtocolError(f"clock status {status} is not an octet")
    return struct.pack(
        ">HBBBBBBBHB",
        value.year,
        value.month,
        value.day,
        value.isoweekday(),
        value.hour,
        value.minute,
        value.second,
        value.microsecond // 10_000,
        deviation_word,
        status,
    )


def decode_date_time(raw: bytes | memoryview) -> datetime | None:
    """Decode the 12 octets of a date-time (IEC 62056-6-2 4.1.6.1) into a datetime.

    Returns None when the octets are not one instant: year, month, day, hour, minute or second "not specified"
    (0xFFFF / 0xFF), or a schedule pattern (month 0xFD/0xFE DST end/begin, day 0xFD/0xFE last days of month).
    Hundredths "not specified" reads as 0. The weekday and clock_status octets are not checked. With a deviation
    the result is aware (UTC offset = minus the deviation); with deviation 0x8000 it is naive.

    Raises:
        RemoteProtocolError: not 12 octets, or a field out of range (month 13, hour 24, February 30, deviation 900).
    """
    view = memoryview(raw).cast("B")
    if len(view) != _DATE_TIME_SIZE:
        raise RemoteProtocolError(f"a date-time is {_DATE_TIME_SIZE} octets, not {len(view)}")
    year, month, day, _weekday, hour, minute, second, hundredths, deviation, _status = struct.unpack(
        ">HBBBBBBBhB", view
    )
    if (
        year == _YEAR_NOT_SPECIFIED
        or month in (_NOT_SPECIFIED, *_MONTH_DAY_PATTERNS)
        or day in (_NOT_SPECIFIED, *_MONTH_DAY_PATTERNS)
        or _NOT_SPECIFIED in (hour, minute, second)
    ):
        return None
    if hundredths == _NOT_SPECIFIED:
        hundredths = 0
    if hundredths > 99 or hour > 23 or minute > 59 or second > 59:
        raise RemoteProtocolError(f"date-time {bytes(view).hex()} has a time field out of range")
    tz: timezone | None = None
    if deviation != -DEVIATION_NOT_SPECIFIED:
        if not -_MAX_DEVIATION <= deviation <= _MAX_DEVIATION:
            raise RemoteProtocolError(f"date-time deviation {deviation} is outside -720..720")
        tz = timezone(timedelta(minutes=-deviation))
    try:
        return datetime(year, month, day, hour, minute, second, hundredths * 10_000, tzinfo=tz)
    except ValueError as exc:
        raise RemoteProtocolError(f"date-time {bytes(view).hex()} is not a valid date: {exc}") from None
