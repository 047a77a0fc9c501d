"""What every xDLMS APDU module shares: the APDU tags, exception-response codes and a bounds-checked reader.

The APDUs themselves live in `apdu_association` (AARQ/AARE/RLRQ/RLRE, InitiateRequest/Response, confirmed
service error) and `apdu_services` (GET/SET/ACTION, exception-response). Tag values: IEC 62056-5-3 8.5
(the xDLMS APDU CHOICE) and 8.2 (ACSE APDUs).
"""

from __future__ import annotations

from enum import IntEnum

from hes.simulator.dlms.axdr import decode_data, decode_length
from hes.simulator.dlms.errors import RemoteProtocolError
from hes.simulator.dlms.values import Data

__all__ = ["ApduReader", "ApduTag", "ExceptionServiceError", "ExceptionStateError"]


class ApduTag(IntEnum):
    """First octet of each APDU the meter side reads or writes (IEC 62056-5-3 8.5, ASN.1 XDLMS-APDU)."""

    INITIATE_REQUEST = 0x01
    INITIATE_RESPONSE = 0x08
    CONFIRMED_SERVICE_ERROR = 0x0E
    GLO_INITIATE_REQUEST = 0x21
    GLO_INITIATE_RESPONSE = 0x28
    GLO_CONFIRMED_SERVICE_ERROR = 0x2E
    DED_INITIATE_REQUEST = 0x41
    DED_INITIATE_RESPONSE = 0x48
    DED_CONFIRMED_SERVICE_ERROR = 0x4E
    AARQ = 0x60
    AARE = 0x61
    RLRQ = 0x62
    RLRE = 0x63
    GET_REQUEST = 0xC0
    SET_REQUEST = 0xC1
    ACTION_REQUEST = 0xC3
    GET_RESPONSE = 0xC4
    SET_RESPONSE = 0xC5
    ACTION_RESPONSE = 0xC7
    GLO_GET_REQUEST = 0xC8
    GLO_SET_REQUEST = 0xC9
    GLO_ACTION_REQUEST = 0xCB
    GLO_GET_RESPONSE = 0xCC
    GLO_SET_RESPONSE = 0xCD
    GLO_ACTION_RESPONSE = 0xCF
    DED_GET_REQUEST = 0xD0
    DED_SET_REQUEST = 0xD1
    DED_ACTION_REQUEST = 0xD3
    DED_GET_RESPONSE = 0xD4
    DED_SET_RESPONSE = 0xD5
    DED_ACTION_RESPONSE = 0xD7
    EXCEPTION_RESPONSE = 0xD8
    GENERAL_GLO_CIPHERING = 0xDB
    GENERAL_DED_CIPHERING = 0xDC


class ExceptionStateError(IntEnum):
    """exception-response state-error (IEC 62056-5-3 8.5, ExceptionResponse)."""

    SERVICE_NOT_ALLOWED = 1
    SERVICE_UNKNOWN = 2


class ExceptionServiceError(IntEnum):
    """exception-response service-error (IEC 62056-5-3 8.5, ExceptionResponse; 4..6 since edition 3)."""

    OPERATION_NOT_POSSIBLE = 1
    SERVICE_NOT_SUPPORTED = 2
    OTHER_REASON = 3
    PDU_TOO_LONG = 4
    DECIPHERING_ERROR = 5
    INVOCATION_COUNTER_ERROR = 6


class ApduReader:
    """A cursor over one APDU: every read is bounds-checked and a short buffer is a RemoteProtocolError."""

    __slots__ = ("_buffer", "_what", "offset")

    def __init__(self, buffer: bytes, what: str, offset: int = 0) -> None:
        self._buffer = buffer
        self._what = what
        self.offset = offset

    @property
    def remaining(self) -> int:
        """Octets not read yet."""
        return len(self._buffer) - self.offset

    def take(self, size: int) -> bytes:
        """The next `size` octets.

        Raises:
            RemoteProtocolError: fewer than `size` octets are left.
        """
        if size < 0 or size > self.remaining:
            raise RemoteProtocolError(f"{self._what}: truncated ({size} octets needed, {self.remaining} left)")
        start = self.offset
        self.offset += size
        return self._buffer[start : self.offset]

    def u8(self) -> int:
        """One unsigned octet."""
        return self.take(1)[0]

    def u16(self) -> int:
        """A big-endian Unsigned16."""
        return int.from_bytes(self.take(2), "big")

    def u32(self) -> int:
        """A big-endian Unsigned32."""
        return int.from_bytes(self.take(4), "big")

    def i8(self) -> int:
        """A signed octet (Integer8, e.g. an attribute id)."""
        return int.from_bytes(self.take(1), "big", signed=True)

    def boolean(self) -> bool:
        """A BOOLEAN octet (0 false, anything else true, as A-XDR reads it)."""
        return self.u8() != 0

    def length(self, limit: int) -> int:
        """A length or element count, at most `limit`.

        Raises:
            RemoteProtocolError: a malformed length or one past `limit`.
        """
        value, self.offset = decode_length(self._buffer, self.offset)
        if value > limit:
            raise RemoteProtocolError(f"{self._what}: length {value} is more than {limit}")
        return value

    def octet_string(self, limit: int) -> bytes:
        """A length-prefixed OCTET STRING of at most `limit` octets."""
        return self.take(self.length(limit))

    def data(self) -> Data:
        """One A-XDR `Data` value (bounded by the codec's own limits)."""
        value, self.offset = decode_data(self._buffer, self.offset)
        return value

    def optional(self) -> bool:
        """An OPTIONAL component's usage flag: 0x00 absent, 0x01 present.

        Raises:
            RemoteProtocolError: any other flag value.
        """
        flag = self.u8()
        if flag > 1:
            raise RemoteProtocolError(f"{self._what}: usage flag 0x{flag:02X} is neither 0 nor 1")
        return flag == 1

    def end(self) -> None:
        """Check the APDU was read to its last octet.

        Raises:
            RemoteProtocolError: octets are left over.
        """
        if self.remaining:
            raise RemoteProtocolError(f"{self._what}: {self.remaining} unexpected trailing octets")
