"""The xDLMS DataNotification APDU (a push from the meter, unsolicited), sans-IO: encode, and decode for peers.

Layout (IEC 62056-5-3 8.5, Data-Notification ::= SEQUENCE, A-XDR):

    0x0F | long-invoke-id-and-priority (4) | date-time (OCTET STRING: length + 0 or 12 octets) | notification-body

- long-invoke-id-and-priority, an Unsigned32: bits 0-23 the long invoke id, bit 28 self-descriptive, bit 29
  processing option (break on error), bit 30 service class (1 = confirmed), bit 31 priority (1 = high);
- date-time: the moment of the push, empty when the sender leaves it out (the DSMR/SMR 5 alarm pushes do);
- notification-body: one Data (IEC 62056-6-2), for a push setup the structure of its push objects' values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hes.simulator.dlms.apdu import ApduReader
from hes.simulator.dlms.axdr import encode_data
from hes.simulator.dlms.date_time import decode_date_time, encode_date_time
from hes.simulator.dlms.errors import LocalProtocolError, RemoteProtocolError
from hes.simulator.dlms.values import Data

__all__ = [
    "DATA_NOTIFICATION",
    "MAX_LONG_INVOKE_ID",
    "DataNotification",
    "decode_data_notification",
    "encode_data_notification",
    "notification_at",
]

DATA_NOTIFICATION = 0x0F  # IEC 62056-5-3 8.5: data-notification [15]
MAX_LONG_INVOKE_ID = 0xFFFFFF  # 24 bits
_PRIORITY_HIGH = 1 << 31
_CONFIRMED = 1 << 30
_DATE_TIME_SIZE = 12


@dataclass(frozen=True, slots=True)
class DataNotification:
    """One DataNotification: its invoke id, flags, optional moment and body."""

    invoke_id: int
    body: Data
    date_time: bytes = b""  # the 12 octets of a date-time (IEC 62056-6-2 4.1.6.1), or empty
    high_priority: bool = False
    confirmed: bool = False

    @property
    def moment(self) -> datetime | None:
        """The date-time as a datetime, when present and a single instant."""
        return decode_date_time(self.date_time) if len(self.date_time) == _DATE_TIME_SIZE else None


def encode_data_notification(notification: DataNotification) -> bytes:
    """The APDU octets of `notification`.

    Raises:
        LocalProtocolError: an invoke id outside 0..2^24-1, or a date-time that is neither empty nor 12 octets.
    """
    if not 0 <= notification.invoke_id <= MAX_LONG_INVOKE_ID:
        raise LocalProtocolError(f"long invoke id {notification.invoke_id} is outside 0..{MAX_LONG_INVOKE_ID}")
    if len(notification.date_time) not in (0, _DATE_TIME_SIZE):
        raise LocalProtocolError(f"a date-time is 0 or {_DATE_TIME_SIZE} octets, not {len(notification.date_time)}")
    word = notification.invoke_id
    word |= _PRIORITY_HIGH if notification.high_priority else 0
    word |= _CONFIRMED if notification.confirmed else 0
    header = bytes((DATA_NOTIFICATION,)) + word.to_bytes(4, "big")
    return header + bytes((len(notification.date_time),)) + notification.date_time + encode_data(notification.body)


def notification_at(invoke_id: int, body: Data, moment: datetime | None) -> DataNotification:
    """A normal-priority, unconfirmed notification stamped with `moment` (an aware datetime) or unstamped."""
    return DataNotification(invoke_id, body, encode_date_time(moment) if moment is not None else b"")


def decode_data_notification(apdu: bytes) -> DataNotification:
    """Decode a DataNotification APDU (what a HES or a test listener receives).

    Raises:
        RemoteProtocolError: another APDU, truncated, a date-time of another length, or trailing octets.
    """
    reader = ApduReader(apdu, "DataNotification")
    if reader.u8() != DATA_NOTIFICATION:
        raise RemoteProtocolError("not a DataNotification")
    word = reader.u32()
    length = reader.u8()
    if length not in (0, _DATE_TIME_SIZE):
        raise RemoteProtocolError(f"a date-time of {length} octets")
    date_time = reader.take(length)
    body = reader.data()
    reader.end()
    return DataNotification(
        invoke_id=word & MAX_LONG_INVOKE_ID,
        body=body,
        date_time=date_time,
        high_priority=bool(word & _PRIORITY_HIGH),
        confirmed=bool(word & _CONFIRMED),
    )
