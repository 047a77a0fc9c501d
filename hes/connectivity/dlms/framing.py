"""Cut whole frames out of the octet stream a meter sends: TCP wrapper (IEC 62056-47) or HDLC (IEC 62056-46).

A framer buffers what arrives until a frame is complete and hands back whole frames only, so the DLMS decoder
never sees half a frame and never waits on octets that cannot start one. Each framer is bounded: a frame longer
than its limit, or octets that cannot start a frame (garbage on the line), raise a remote error at once instead
of waiting for a timeout. No I/O here (habit 1).

Each frame also says which APDU it starts (`apdu_tag`), so the client can refuse an unprotected answer in a
ciphered association before the decoder touches it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from hes.connectivity.dlms.errors import FramingError, LimitExceeded

__all__ = ["HDLC_FLAG", "WRAPPER_HEADER", "WRAPPER_VERSION", "Frame", "Framer", "HdlcFramer", "WrapperFramer"]

WRAPPER_HEADER = 8  # version, source wPort, destination wPort, length: 2 octets each (IEC 62056-47 5.3)
WRAPPER_VERSION = 1
HDLC_FLAG = 0x7E
_HDLC_FORMAT_TYPE = 0xA  # frame format type 3, the only one IEC 62056-46 uses
_HDLC_SEGMENTED = 0x0800  # S bit of the frame format field
_HDLC_LENGTH = 0x07FF
# Shortest HDLC frame between the flags: format (2), destination and source address (1 each), control (1), FCS (2).
_HDLC_MIN_LENGTH = 7
_HDLC_MAX_ADDRESS = 4  # an HDLC address is 1, 2 or 4 octets; the last one has its low bit set
_LLC_RESPONSE = b"\xe6\xe7\x00"  # LLC header in front of every APDU a server sends (IEC 62056-46 8)


@dataclass(frozen=True, slots=True)
class Frame:
    """One whole frame as received, and the tag of the APDU it starts (None: it starts none)."""

    data: bytes
    apdu_tag: int | None


class Framer(Protocol):
    """Buffers octets and cuts whole frames."""

    @property
    def buffered(self) -> int:
        """Octets held that do not make a whole frame yet."""
        ...

    def receive_data(self, data: bytes) -> list[Frame]:
        """Add `data`; return the frames it completed (an empty bytes value adds nothing).

        Raises:
            FramingError: octets that cannot start or end a frame.
            LimitExceeded: a frame longer than this framer's limit.
        """
        ...


class WrapperFramer:
    """Frames of the TCP wrapper: an 8-octet header whose last two octets give the APDU length."""

    def __init__(self, max_apdu: int) -> None:
        """A framer accepting APDUs of at most `max_apdu` octets."""
        self.max_apdu = max_apdu
        self._buffer = bytearray()

    @property
    def buffered(self) -> int:
        """Octets held that do not make a whole frame yet."""
        return len(self._buffer)

    def receive_data(self, data: bytes) -> list[Frame]:
        """Add `data`; return the frames it completed.

        Raises:
            FramingError: a header whose version is not 1 (the first two octets of every frame are 00 01).
            LimitExceeded: a header announcing an APDU longer than `max_apdu`.
        """
        buffer = self._buffer
        buffer += data
        frames: list[Frame] = []
        while len(buffer) >= 2:
            version = buffer[0] << 8 | buffer[1]
            if version != WRAPPER_VERSION:
                raise FramingError(f"wrapper version {version:#06x} where 0x0001 starts a frame")
            if len(buffer) < WRAPPER_HEADER:
                break
            length = buffer[6] << 8 | buffer[7]
            if length > self.max_apdu:
                raise LimitExceeded(f"wrapper frame of {length} octets, more than the {self.max_apdu} accepted")
            end = WRAPPER_HEADER + length
            if len(buffer) < end:
                break
            frame = bytes(buffer[:end])
            del buffer[:end]
            frames.append(Frame(frame, frame[WRAPPER_HEADER] if length else None))
        return frames


class HdlcFramer:
    """HDLC frames: flag, frame format field with an 11-bit length, addresses, control, ..., flag."""

    def __init__(self, max_frame: int) -> None:
        """A framer accepting frames of at most `max_frame` octets, flags included."""
        self.max_frame = max_frame
        self._buffer = bytearray()
        self._continuing = False  # the last I-frame had the segmentation bit: the next one continues its APDU

    @property
    def buffered(self) -> int:
        """Octets held that do not make a whole frame yet (a lone flag that may open the next frame is none)."""
        return 0 if self._buffer == b"\x7e" else len(self._buffer)

    def receive_data(self, data: bytes) -> list[Frame]:
        """Add `data`; return the frames it completed (extra flags between frames are skipped).

        Raises:
            FramingError: an octet other than a flag where a frame must start, a format type other than 3,
                a length too short for a frame, a frame not closed by a flag, or malformed addresses.
            LimitExceeded: a frame longer than `max_frame`.
        """
        buffer = self._buffer
        buffer += data
        frames: list[Frame] = []
        while buffer:
            if buffer[0] != HDLC_FLAG:
                raise FramingError(f"octet {buffer[0]:#04x} where an HDLC flag (0x7e) must start a frame")
            if len(buffer) >= 2 and buffer[1] == HDLC_FLAG:
                del buffer[0]  # inter-frame fill, or a closing flag shared with the next frame
                continue
            if len(buffer) < 3:
                break
            frame_format = buffer[1] << 8 | buffer[2]
            if frame_format >> 12 != _HDLC_FORMAT_TYPE:
                raise FramingError(f"HDLC frame format {frame_format:#06x} is not type 3 (0xA...)")
            length = frame_format & _HDLC_LENGTH
            if length < _HDLC_MIN_LENGTH:
                raise FramingError(f"HDLC frame length {length} is shorter than any frame")
            total = length + 2
            if total > self.max_frame:
                raise LimitExceeded(f"HDLC frame of {total} octets, more than the {self.max_frame} accepted")
            if len(buffer) < total:
                break
            if buffer[total - 1] != HDLC_FLAG:
                raise FramingError("HDLC frame not closed by a flag where its length says it ends")
            frame = bytes(buffer[:total])
            # Keep the closing flag: it may also open the next frame (IEC 62056-46 6.3.2 allows one shared flag).
            del buffer[: total - 1]
            frames.append(Frame(frame, self._apdu_tag(frame, bool(frame_format & _HDLC_SEGMENTED))))
        return frames

    def _apdu_tag(self, frame: bytes, segmented: bool) -> int | None:
        """The tag of the APDU an I-frame starts; None for other frames and for continuation segments."""
        position = 3
        for _ in range(2):  # destination, then source address
            start = position
            while position < len(frame) - 1 and not frame[position] & 1:
                position += 1
            position += 1
            if position - start > _HDLC_MAX_ADDRESS or position >= len(frame) - 1:
                raise FramingError("malformed HDLC address")
        control = frame[position]
        if control & 1:  # S- and U-frames (RR, UA, DM, ...) carry no APDU of a session
            return None
        info = frame[position + 3 : len(frame) - 3]  # after control and HCS, before FCS and flag
        continuing, self._continuing = self._continuing, segmented
        if continuing or len(info) <= len(_LLC_RESPONSE) or info[:3] != _LLC_RESPONSE:
            return None
        return info[3]
