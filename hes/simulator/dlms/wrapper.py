"""IEC 62056-47 TCP/UDP wrapper framing, sans-IO: bytes in, `WrapperFrame`s out; `frame()` builds bytes to send.

Each APDU travels behind an 8-octet header (IEC 62056-47, the wrapper protocol data unit "WPDU"):

    version (2, always 0x0001) | source wPort (2) | destination wPort (2) | length of the APDU (2) | APDU

wPorts are the DLMS client and server SAPs (client 0x10 = public client, server 0x01 = management logical
device). TCP delivers a byte stream, so one `receive_data` call may hold half a header, or several frames.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import NoReturn

from hes.simulator.dlms.errors import LocalProtocolError, RemoteProtocolError

__all__ = ["DEFAULT_MAX_APDU", "HEADER_SIZE", "WRAPPER_VERSION", "WrapperFrame", "WrapperFramer"]

WRAPPER_VERSION = 0x0001  # IEC 62056-47: the only wrapper version defined
HEADER_SIZE = 8
_HEADER = struct.Struct(">HHHH")
_MAX_FIELD = 0xFFFF  # wPorts and the length are Unsigned16

# Largest APDU accepted from a peer unless the caller says otherwise. Real meters announce a server max receive
# PDU size of 512..2048 octets; a ciphered APDU adds a few dozen (security header, system title, 12-octet tag)
# and a general-glo-ciphering wrapper a few more. 8 KiB covers that with room to spare and bounds what one
# connection can make us buffer to HEADER_SIZE + 8 KiB.
DEFAULT_MAX_APDU = 8192


@dataclass(frozen=True, slots=True)
class WrapperFrame:
    """One wrapper frame as received: who sent it, to whom, and its APDU."""

    source_wport: int
    destination_wport: int
    apdu: bytes


class WrapperFramer:
    """Splits a TCP byte stream into wrapper frames and frames APDUs for sending; does no I/O.

    After it raises RemoteProtocolError the stream is out of step for good (the framing cannot resynchronise:
    there is no flag or checksum), so every later `receive_data` call raises again; the driver closes the
    connection.
    """

    def __init__(self, max_apdu: int = DEFAULT_MAX_APDU) -> None:
        """Accept APDUs of at most `max_apdu` octets (1..65535) from the peer."""
        if not 1 <= max_apdu <= _MAX_FIELD:
            raise ValueError(f"max_apdu must be 1..{_MAX_FIELD}, not {max_apdu}")
        self.max_apdu = max_apdu
        self._buffer = bytearray()
        self._error: RemoteProtocolError | None = None

    @property
    def buffered(self) -> int:
        """Octets received but not yet part of a complete frame."""
        return len(self._buffer)

    def receive_data(self, data: bytes) -> list[WrapperFrame]:
        """Feed received octets; returns every frame they complete, in order (possibly none).

        Args:
            data: the next octets of the stream. Empty bytes means the peer closed the stream.

        Returns:
            The complete frames; a partial frame stays buffered for the next call.

        Raises:
            RemoteProtocolError: a version other than 0x0001, an APDU length over `max_apdu`, the stream closed in
                the middle of a frame, or any call after such an error.
        """
        if self._error is not None:
            raise RemoteProtocolError(f"stream already failed: {self._error.message}")
        if not data:
            if self._buffer:
                self._fail(f"stream closed with {len(self._buffer)} octets of an unfinished frame")
            return []
        self._buffer += data
        frames: list[WrapperFrame] = []
        while len(self._buffer) >= HEADER_SIZE:
            version, source, destination, length = _HEADER.unpack_from(self._buffer)
            # Check the header as soon as it is complete, so a hostile length never makes us wait for its body.
            if version != WRAPPER_VERSION:
                self._fail(f"wrapper version 0x{version:04X}, expected 0x{WRAPPER_VERSION:04X}")
            if length > self.max_apdu:
                self._fail(f"APDU of {length} octets is longer than {self.max_apdu}")
            end = HEADER_SIZE + length
            if len(self._buffer) < end:
                break
            frames.append(WrapperFrame(source, destination, bytes(self._buffer[HEADER_SIZE:end])))
            del self._buffer[:end]
        return frames

    def frame(self, source_wport: int, destination_wport: int, apdu: bytes) -> bytes:
        """The octets that carry `apdu` from `source_wport` to `destination_wport`.

        Raises:
            LocalProtocolError: a wPort outside 0..65535, or an APDU longer than the 16-bit length field.
        """
        for name, port in (("source", source_wport), ("destination", destination_wport)):
            if not 0 <= port <= _MAX_FIELD:
                raise LocalProtocolError(f"{name} wPort {port} is outside 0..{_MAX_FIELD}")
        if len(apdu) > _MAX_FIELD:
            raise LocalProtocolError(f"APDU of {len(apdu)} octets does not fit a wrapper frame")
        return _HEADER.pack(WRAPPER_VERSION, source_wport, destination_wport, len(apdu)) + apdu

    def _fail(self, message: str) -> NoReturn:
        self._error = RemoteProtocolError(message)
        self._buffer.clear()
        raise self._error
