"""IEC 62056-46 HDLC frame format type 3: the frame codec, address and control fields, FCS, and a stream reader.

A frame on the wire (IEC 62056-46, MAC sublayer, frame format type 3):

    7E | format (2) | destination address (1/2/4) | source address (1/2/4) | control (1) | HCS (2) |
       information (0..n) | FCS (2) | 7E

- format: 4 bits frame type 0b1010, the segmentation bit S, 11 bits frame length (every octet between the flags);
- addresses: 7 bits per octet, the lowest bit of the last octet set (extension bit); a server address has an
  upper (logical device) and a lower (physical device) part, a client address is one octet;
- HCS (header check sequence) is present only when there is an information field; FCS covers everything between
  the flags. Both are CRC-16/X.25, least significant octet first;
- 62056-46 uses the length field instead of octet stuffing, so 0x7E may appear inside a frame.

This module knows nothing of link state; `hdlc_link.py` runs the meter-side state machine on top of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from hes.simulator.dlms.errors import LocalProtocolError, RemoteProtocolError

__all__ = [
    "DEFAULT_INFO_FIELD",
    "FLAG",
    "LLC_COMMAND",
    "LLC_RESPONSE",
    "MAX_INFO_FIELD",
    "MIN_INFO_FIELD",
    "FrameKind",
    "HdlcAddress",
    "HdlcFrame",
    "HdlcFrameReader",
    "decode_address",
    "decode_frame",
    "encode_address",
    "encode_frame",
    "fcs16",
    "i_control",
    "s_control",
    "u_control",
]

FLAG = 0x7E
_FORMAT_TYPE_3 = 0xA000  # frame format type 3 in the top four bits (62056-46 frame format field)
_FORMAT_TYPE_MASK = 0xF000
_SEGMENTATION_BIT = 0x0800
_LENGTH_MASK = 0x07FF
_POLL_FINAL = 0x10

# LLC header in front of every APDU on a connection-oriented link (62056-46 LLC sublayer / Green Book):
# destination LSAP 0xE6, source LSAP 0xE6 (command) or 0xE7 (response), LLC quality 0x00.
LLC_COMMAND = b"\xe6\xe6\x00"
LLC_RESPONSE = b"\xe6\xe7\x00"

# Information field lengths, IEC 62056-6-2 IC 23 IEC HDLC setup (max_info_field_length_transmit/receive):
# 128 by default (no negotiation), negotiable within 32..2030.
DEFAULT_INFO_FIELD = 128
MIN_INFO_FIELD = 32
MAX_INFO_FIELD = 2030

# Octets a frame has besides its information field: format 2, addresses at most 4 + 4, control 1, HCS 2, FCS 2.
_MAX_OVERHEAD = 15
# Shortest frame between the flags: format 2, two one-octet addresses, control 1, FCS 2.
_MIN_FRAME_LENGTH = 7


# ---------------------------------------------------------------------------------------------------- FCS


# CRC-16/X.25 (reflected polynomial 0x8408, initial 0xFFFF, final complement), RFC 1662 appendix C, as
# IEC 62056-46 prescribes. Hand-written from a 256-entry table: it is twenty lines, and no maintained field
# library offers the HDLC FCS without pulling in a framework we do not want as a runtime dependency.
def _fcs_table() -> tuple[int, ...]:
    table = []
    for octet in range(256):
        crc = octet
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_FCS_TABLE = _fcs_table()


def fcs16(data: bytes | bytearray | memoryview) -> int:
    """CRC-16/X.25 of `data` (the HCS/FCS value; sent least significant octet first)."""
    crc = 0xFFFF
    for octet in data:
        crc = (crc >> 8) ^ _FCS_TABLE[(crc ^ octet) & 0xFF]
    return crc ^ 0xFFFF


# ---------------------------------------------------------------------------------------------------- addresses


@dataclass(frozen=True, slots=True)
class HdlcAddress:
    """An HDLC address (62056-46 address field): upper (logical device / client SAP) and lower (physical device) parts.

    size is the octets on the wire: 1 (upper only, 7 bits: a client address, or a server on a point-to-point
    line), 2 (upper and lower, 7 bits each) or 4 (upper and lower, 14 bits each).
    """

    upper: int
    lower: int | None = None
    size: int = 1

    def __post_init__(self) -> None:
        limit = {1: 0x7F, 2: 0x7F, 4: 0x3FFF}.get(self.size)
        if limit is None:
            raise ValueError(f"an HDLC address is 1, 2 or 4 octets, not {self.size}")
        if (self.lower is None) != (self.size == 1):
            raise ValueError("a 1-octet address has no lower part; a 2- or 4-octet address has one")
        if not 0 <= self.upper <= limit or not 0 <= (self.lower or 0) <= limit:
            raise ValueError(f"address parts must be 0..{limit} in a {self.size}-octet address")

    @classmethod
    def server(cls, upper: int, lower: int | None = None) -> HdlcAddress:
        """A server address in the fewest octets that hold it."""
        if lower is None:
            return cls(upper)
        return cls(upper, lower, 2 if upper <= 0x7F and lower <= 0x7F else 4)

    def addresses(self, other: HdlcAddress) -> bool:
        """Whether a frame sent to `self` reaches a station whose address is `other`.

        A 1-octet server address carries no lower part and reaches the station whatever its physical address
        (point-to-point addressing, IEC 62056-46).
        """
        return self.upper == other.upper and (self.lower is None or other.lower is None or self.lower == other.lower)


def encode_address(address: HdlcAddress) -> bytes:
    """The address field octets: 7 bits each, most significant first, extension bit set on the last."""
    if address.size == 1:
        parts = [address.upper]
    elif address.size == 2:
        parts = [address.upper, address.lower or 0]
    else:
        lower = address.lower or 0
        parts = [address.upper >> 7, address.upper & 0x7F, lower >> 7, lower & 0x7F]
    octets = bytearray(part << 1 for part in parts)
    octets[-1] |= 1
    return bytes(octets)


def decode_address(buffer: bytes | bytearray | memoryview, offset: int) -> tuple[HdlcAddress, int]:
    """Decode an address field at `offset`; returns (address, offset after it).

    Raises:
        RemoteProtocolError: no terminating octet within 4, a 3-octet address, or the buffer ends first.
    """
    parts: list[int] = []
    while True:
        if offset >= len(buffer):
            raise RemoteProtocolError("address field runs past the frame")
        octet = buffer[offset]
        offset += 1
        parts.append(octet >> 1)
        if octet & 1:
            break
        if len(parts) == 4:
            raise RemoteProtocolError("address field longer than 4 octets")
    if len(parts) == 1:
        return HdlcAddress(parts[0]), offset
    if len(parts) == 2:
        return HdlcAddress(parts[0], parts[1], 2), offset
    if len(parts) == 4:
        return HdlcAddress(parts[0] << 7 | parts[1], parts[2] << 7 | parts[3], 4), offset
    raise RemoteProtocolError("a 3-octet HDLC address is not allowed")


# ---------------------------------------------------------------------------------------------------- control


class FrameKind(Enum):
    """What a control field says (62056-46 control field); UNKNOWN for any code the standard does not define."""

    I = "I"  # noqa: E741 - the standard's name for an information frame
    RR = "RR"
    RNR = "RNR"
    REJ = "REJ"
    SREJ = "SREJ"
    SNRM = "SNRM"
    DISC = "DISC"
    UA = "UA"
    DM = "DM"
    FRMR = "FRMR"
    UI = "UI"
    UNKNOWN = "UNKNOWN"


# Supervisory frames: bits 3..2 of the control field (with bits 1..0 = 01).
_S_CODES: dict[int, FrameKind] = {0: FrameKind.RR, 1: FrameKind.RNR, 2: FrameKind.REJ, 3: FrameKind.SREJ}
# Unnumbered frames: the control field with the P/F bit cleared.
_U_CODES: dict[int, FrameKind] = {
    0x83: FrameKind.SNRM,
    0x43: FrameKind.DISC,
    0x63: FrameKind.UA,
    0x0F: FrameKind.DM,
    0x87: FrameKind.FRMR,
    0x03: FrameKind.UI,
}
_U_OCTETS: dict[FrameKind, int] = {kind: code for code, kind in _U_CODES.items()}
_S_OCTETS: dict[FrameKind, int] = {kind: code for code, kind in _S_CODES.items()}


def i_control(send_sequence: int, receive_sequence: int, poll_final: bool) -> int:
    """Control octet of an I-frame: N(R) in bits 7..5, P/F bit 4, N(S) in bits 3..1, bit 0 clear."""
    return (receive_sequence & 7) << 5 | (_POLL_FINAL if poll_final else 0) | (send_sequence & 7) << 1


def s_control(kind: FrameKind, receive_sequence: int, poll_final: bool) -> int:
    """Control octet of a supervisory frame (RR, RNR, REJ, SREJ)."""
    return (receive_sequence & 7) << 5 | (_POLL_FINAL if poll_final else 0) | _S_OCTETS[kind] << 2 | 0x01


def u_control(kind: FrameKind, poll_final: bool) -> int:
    """Control octet of an unnumbered frame (SNRM, DISC, UA, DM, FRMR, UI)."""
    return _U_OCTETS[kind] | (_POLL_FINAL if poll_final else 0)


# ---------------------------------------------------------------------------------------------------- frames


@dataclass(frozen=True, slots=True)
class HdlcFrame:
    """One HDLC frame: addresses, raw control octet, information field and segmentation bit."""

    destination: HdlcAddress
    source: HdlcAddress
    control: int
    information: bytes = b""
    segmented: bool = False

    @property
    def kind(self) -> FrameKind:
        """The frame type its control field names."""
        if not self.control & 0x01:
            return FrameKind.I
        if self.control & 0x03 == 0x01:
            return _S_CODES[(self.control >> 2) & 0x03]
        return _U_CODES.get(self.control & ~_POLL_FINAL, FrameKind.UNKNOWN)

    @property
    def poll_final(self) -> bool:
        """The P/F bit: poll in a command, final in a response."""
        return bool(self.control & _POLL_FINAL)

    @property
    def send_sequence(self) -> int:
        """N(S) of an I-frame."""
        return (self.control >> 1) & 7

    @property
    def receive_sequence(self) -> int:
        """N(R) of an I- or S-frame."""
        return self.control >> 5


def encode_frame(frame: HdlcFrame) -> bytes:
    """The octets of `frame`, flags included.

    Raises:
        LocalProtocolError: the frame is longer than the 11-bit length field allows.
    """
    header = bytearray(2)
    header += encode_address(frame.destination)
    header += encode_address(frame.source)
    header.append(frame.control)
    length = len(header) + 2 + (len(frame.information) + 2 if frame.information else 0)
    if length > _LENGTH_MASK:
        raise LocalProtocolError(f"HDLC frame of {length} octets does not fit the length field")
    header[0:2] = (_FORMAT_TYPE_3 | (_SEGMENTATION_BIT if frame.segmented else 0) | length).to_bytes(2, "big")
    body = header
    if frame.information:
        body += fcs16(header).to_bytes(2, "little")
        body += frame.information
    body += fcs16(body).to_bytes(2, "little")
    return bytes((FLAG,)) + bytes(body) + bytes((FLAG,))


def decode_frame(content: bytes | bytearray | memoryview) -> HdlcFrame:
    """Decode the octets between a frame's flags.

    Raises:
        RemoteProtocolError: not frame format type 3, a length field that disagrees with the octets, a malformed
            address, or an HCS/FCS mismatch.
    """
    if len(content) < _MIN_FRAME_LENGTH:
        raise RemoteProtocolError(f"HDLC frame of {len(content)} octets is too short")
    fmt = int.from_bytes(content[0:2], "big")
    if fmt & _FORMAT_TYPE_MASK != _FORMAT_TYPE_3:
        raise RemoteProtocolError(f"frame format 0x{fmt:04X} is not type 3")
    if fmt & _LENGTH_MASK != len(content):
        raise RemoteProtocolError(f"frame length field {fmt & _LENGTH_MASK} but {len(content)} octets")
    if fcs16(content[:-2]) != int.from_bytes(content[-2:], "little"):
        raise RemoteProtocolError("HDLC FCS mismatch")
    destination, offset = decode_address(content, 2)
    source, offset = decode_address(content, offset)
    if offset >= len(content) - 2:
        raise RemoteProtocolError("HDLC frame has no control field")
    control = content[offset]
    offset += 1
    information = b""
    if offset < len(content) - 2:
        # An information field follows, behind its own header check sequence.
        if offset + 2 > len(content) - 2:
            raise RemoteProtocolError("HDLC frame too short for its HCS")
        if fcs16(content[:offset]) != int.from_bytes(content[offset : offset + 2], "little"):
            raise RemoteProtocolError("HDLC HCS mismatch")
        information = bytes(content[offset + 2 : -2])
    return HdlcFrame(destination, source, control, information, bool(fmt & _SEGMENTATION_BIT))


class HdlcFrameReader:
    """Finds frames in a byte stream: skips octets before a flag, buffers a partial frame, resynchronises.

    Usage: `receive_data(octets)`, then call `next_frame()` until it returns None (needs more octets). A bad frame
    makes `next_frame()` raise RemoteProtocolError once, after dropping it; the next call carries on with the octets
    that followed it.
    """

    def __init__(self, max_info_field: int = MAX_INFO_FIELD) -> None:
        """Accept frames whose information field is at most `max_info_field` octets."""
        # The longest frame we wait for; a length field above it is refused at once, so a partial frame never makes
        # us buffer more than this (the 11-bit length field caps it at 2047 anyway).
        self.max_frame_length = min(max_info_field + _MAX_OVERHEAD, _LENGTH_MASK)
        self._buffer = bytearray()
        self._start = 0  # read position in _buffer; consumed octets are dropped in one go, not one at a time

    @property
    def buffered(self) -> int:
        """Octets held for a frame not yet complete."""
        return len(self._buffer) - self._start

    def receive_data(self, data: bytes) -> None:
        """Append received octets."""
        self._buffer += data

    def next_frame(self) -> HdlcFrame | None:
        """The next complete frame, or None when more octets are needed.

        Raises:
            RemoteProtocolError: the next frame is bad (length over the limit, no closing flag, HCS/FCS mismatch,
                malformed address); it has been dropped.
        """
        buffer = self._buffer
        while True:
            start = buffer.find(FLAG, self._start)
            if start < 0:  # no flag: everything so far is noise between frames
                self._compact(len(buffer))
                return None
            # Several flags in a row are idle fill, or one frame's closing flag and the next one's opening flag.
            while start + 1 < len(buffer) and buffer[start + 1] == FLAG:
                start += 1
            self._start = start
            if len(buffer) - start < 3:
                self._compact(start)
                return None
            fmt = buffer[start + 1] << 8 | buffer[start + 2]
            if fmt & _FORMAT_TYPE_MASK != _FORMAT_TYPE_3:
                self._start = start + 1  # a stray 0x7E in noise, not an opening flag
                continue
            length = fmt & _LENGTH_MASK
            if not _MIN_FRAME_LENGTH <= length <= self.max_frame_length:
                self._start = start + 1
                raise RemoteProtocolError(
                    f"HDLC frame length {length} outside {_MIN_FRAME_LENGTH}..{self.max_frame_length}"
                )
            end = start + 1 + length  # where the closing flag must be
            if len(buffer) <= end:
                self._compact(start)
                return None
            if buffer[end] != FLAG:
                self._start = start + 1
                raise RemoteProtocolError("HDLC frame has no closing flag where its length says")
            content = bytes(buffer[start + 1 : end])
            self._start = end  # keep the closing flag: it may also open the next frame
            return decode_frame(content)

    def _compact(self, keep_from: int) -> None:
        del self._buffer[:keep_from]
        self._start = 0
