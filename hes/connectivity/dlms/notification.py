"""Inbound DataNotifications (IEC 62056-5-3 9.3.10, data-notification), sans-IO: frames cut, pushes decoded.

A meter that opens a connection to the HES sends its pushes to the pre-established client 102 (IDIS): each one in a
TCP wrapper frame (IEC 62056-47: its wPort -> 102), or in HDLC UI frames (IEC 62056-46: unnumbered information from
its address to 102, the LLC header in front, segmented past the 128-octet default information field since no SNRM
agreed on more). `InboundFramer` tells the two apart by the first octet, cuts whole frames
(hes.connectivity.dlms.framing), checks the HDLC check sequences, joins segments and hands back whole APDUs.

`peek_system_title` reads the sender's system title in the clear of a general-glo-ciphered APDU, so the caller can
find the meter and its keys before anything is deciphered; `decode_notification` then decodes with gurux, whose
AES-GCM hes.connectivity.dlms.ciphering replaced with one that verifies the tag and refuses a replayed counter.
A meter that has keys must cipher: a plain push claiming to come from it is refused. No I/O here (habit 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gurux_dlms import GXByteBuffer, GXReplyData  # type: ignore[import-untyped]
from gurux_dlms._GXFCS16 import _GXFCS16  # type: ignore[import-untyped]
from gurux_dlms.enums import Authentication, Command, InterfaceType, Security  # type: ignore[import-untyped]
from gurux_dlms.secure import GXDLMSSecureClient  # type: ignore[import-untyped]

from hes.connectivity.dlms import ciphering
from hes.connectivity.dlms.decoding import plain
from hes.connectivity.dlms.errors import CipheringError, FramingError, LimitExceeded, MalformedAnswer
from hes.connectivity.dlms.framing import HDLC_FLAG, Framer, HdlcFramer, WrapperFramer
from hes.connectivity.dlms.gurux_bridge import call_gurux
from hes.connectivity.dlms.limits import MAX_HDLC_FRAME
from hes.connectivity.dlms.link import KEY_LENGTH, SYSTEM_TITLE_LENGTH
from hes.connectivity.dlms.values import CosemValue
from hes.db.enums import DlmsTransport

__all__ = [
    "DATA_NOTIFICATION",
    "GENERAL_GLO_CIPHERING",
    "MAX_NOTIFICATION",
    "PUSH_CLIENT",
    "DataNotification",
    "InboundApdu",
    "InboundFramer",
    "NotificationKeys",
    "decode_notification",
    "peek_system_title",
]

PUSH_CLIENT = 102  # IDIS pre-established client: the receiver of pushes
DATA_NOTIFICATION = 0x0F
GENERAL_GLO_CIPHERING = 0xDB
# The longest push accepted, deciphered or not: one wrapper frame's worth (its length field has 16 bits). An IDIS
# push of a dozen registers is ~200 octets; a meter announcing more is hostile or broken.
MAX_NOTIFICATION = 0xFFFF
_WRAPPER_HEADER = 8
_WRAPPER_VERSION_FIRST_OCTET = 0x00
_HDLC_SEGMENTED = 0x08  # S bit, in the first octet of the frame format field
_HDLC_UI = 0x03  # control field of a UI frame, the P/F bit (0x10) masked out (IEC 62056-46 6.4.3.4)
_POLL_FINAL = 0x10
_LLC_RESPONSE = b"\xe6\xe7\x00"  # in front of every APDU a server sends (IEC 62056-46 8)
_MAX_ADDRESS = 4  # octets of an HDLC address
# The HES's own system title where gurux wants one; a push is deciphered with the meter's title, from the APDU.
_RECEIVER_TITLE = b"HESPUSH0"


@dataclass(frozen=True, slots=True)
class InboundApdu:
    """One whole APDU a meter sent, with its envelope.

    Attributes:
        transport: how it came framed.
        source, destination: the wrapper wPorts, or the HDLC addresses as their 7-bit groups read together
            (a 4-octet server address is upper << 14 | lower).
        apdu: the APDU, LLC header removed.
    """

    transport: DlmsTransport
    source: int
    destination: int
    apdu: bytes


@dataclass(frozen=True, slots=True)
class NotificationKeys:
    """The suite-0 keys a meter ciphers its pushes with (its global unicast encryption and authentication keys)."""

    block_cipher_key: bytes = field(repr=False)
    authentication_key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.block_cipher_key) != KEY_LENGTH or len(self.authentication_key) != KEY_LENGTH:
            raise ValueError(f"push keys are {KEY_LENGTH} octets each")


@dataclass(frozen=True, slots=True)
class DataNotification:
    """One decoded DataNotification.

    Attributes:
        timestamp: its own date-time in UTC, when it carries one.
        body: the notification-body, usually a structure (a tuple) of the pushed values.
        ciphered: whether it came authenticated and encrypted.
        system_title: the sender's system title (ciphered pushes only).
        invocation_counter: the sender's invocation counter (ciphered pushes only): the next one must be higher.
    """

    timestamp: datetime | None
    body: CosemValue
    ciphered: bool = False
    system_title: bytes | None = None
    invocation_counter: int | None = None

    @property
    def values(self) -> tuple[CosemValue, ...]:
        """The pushed values: the body structure's elements (a body that is no structure is one value)."""
        return self.body if isinstance(self.body, tuple) else (self.body,)


class InboundFramer:
    """Cuts the octets a meter sends on an inbound connection into whole APDUs: wrapper, or HDLC UI frames."""

    def __init__(self, max_apdu: int = MAX_NOTIFICATION) -> None:
        """A framer accepting APDUs of at most `max_apdu` octets; the transport is learnt from the first octet."""
        self.max_apdu = max_apdu
        self.transport: DlmsTransport | None = None
        self._framer: Framer | None = None
        self._segments: list[bytes] = []
        self._segmented = 0

    @property
    def buffered(self) -> int:
        """Octets held that do not make a whole APDU yet (part of a frame, or segments waiting for the last one)."""
        return (self._framer.buffered if self._framer is not None else 0) + self._segmented

    def receive_data(self, data: bytes) -> list[InboundApdu]:
        """Add `data`; return the APDUs it completed (an empty bytes value adds nothing).

        Raises:
            FramingError: octets that start neither a wrapper frame nor an HDLC frame, an HDLC frame that is not
                a UI frame, fails its check sequence or lacks the LLC header, an empty APDU.
            LimitExceeded: a frame, or the segments of one APDU, longer than the limit.
        """
        if not data:
            return []
        if self._framer is None:
            self._framer = self._sniff(data[0])
        frames = self._framer.receive_data(data)
        if self.transport is DlmsTransport.WRAPPER:
            return [_wrapper_apdu(frame.data) for frame in frames]
        apdus: list[InboundApdu] = []
        for frame in frames:
            apdu = self._hdlc_segment(frame.data)
            if apdu is not None:
                apdus.append(apdu)
        return apdus

    def _sniff(self, first: int) -> Framer:
        if first == _WRAPPER_VERSION_FIRST_OCTET:
            self.transport = DlmsTransport.WRAPPER
            return WrapperFramer(self.max_apdu)
        if first == HDLC_FLAG:
            self.transport = DlmsTransport.HDLC
            return HdlcFramer(MAX_HDLC_FRAME)
        raise FramingError(f"octet {first:#04x} starts neither a wrapper frame (0x00 0x01) nor an HDLC frame (0x7e)")

    def _hdlc_segment(self, frame: bytes) -> InboundApdu | None:
        """One UI frame's information; the whole APDU once the frame without the segmentation bit came."""
        destination, source, information = _ui_frame(frame)
        if not self._segments and information[: len(_LLC_RESPONSE)] != _LLC_RESPONSE:
            raise FramingError("an HDLC push that does not start with the LLC header e6 e7 00")
        self._segments.append(information)
        self._segmented += len(information)
        if self._segmented > self.max_apdu + len(_LLC_RESPONSE):
            raise LimitExceeded(f"an HDLC push longer than the {self.max_apdu} octets accepted")
        if frame[1] & _HDLC_SEGMENTED:
            return None
        apdu = b"".join(self._segments)[len(_LLC_RESPONSE) :]
        self._segments, self._segmented = [], 0
        if not apdu:
            raise FramingError("an HDLC push without an APDU")
        return InboundApdu(DlmsTransport.HDLC, source, destination, apdu)


def _wrapper_apdu(frame: bytes) -> InboundApdu:
    if len(frame) == _WRAPPER_HEADER:
        raise FramingError("a wrapper frame without an APDU")
    source, destination = int.from_bytes(frame[2:4], "big"), int.from_bytes(frame[4:6], "big")
    return InboundApdu(DlmsTransport.WRAPPER, source, destination, frame[_WRAPPER_HEADER:])


def _ui_frame(frame: bytes) -> tuple[int, int, bytes]:
    """A whole HDLC frame (flags included) checked as a UI frame: destination, source, information.

    Raises:
        FramingError: a bad FCS or HCS, malformed addresses, another kind of frame, no information field.
    """
    body = frame[1:-1]  # between the flags: format, addresses, control, HCS, information, FCS
    if int.from_bytes(body[-2:], "big") != _GXFCS16.countFCS16(bytearray(body), 0, len(body) - 2):
        raise FramingError("HDLC frame check sequence (FCS) does not match")
    position = 2
    destination, position = _address(body, position)
    source, position = _address(body, position)
    control = body[position]
    position += 1
    if control & ~_POLL_FINAL != _HDLC_UI:
        raise FramingError(f"HDLC control {control:#04x} where a push comes in UI frames (0x03 / 0x13)")
    if len(body) < position + 2 + 1 + 2:  # HCS, at least one information octet, FCS
        raise FramingError("an HDLC UI frame without information")
    if int.from_bytes(body[position : position + 2], "big") != _GXFCS16.countFCS16(bytearray(body), 0, position):
        raise FramingError("HDLC header check sequence (HCS) does not match")
    return destination, source, body[position + 2 : -2]


def _address(body: bytes, position: int) -> tuple[int, int]:
    """An HDLC address starting at `position`: its value (7-bit groups) and the position after it."""
    value = 0
    for length in range(1, _MAX_ADDRESS + 1):
        if position >= len(body) - 2:
            break
        octet = body[position]
        value = value << 7 | octet >> 1
        position += 1
        if octet & 1:
            return value, position
        if length == _MAX_ADDRESS:
            break
    raise FramingError("malformed HDLC address")


def peek_system_title(apdu: bytes) -> bytes | None:
    """The sender's system title in the clear of a general-glo-ciphered APDU; None for an APDU of another kind.

    Raises:
        MalformedAnswer: a general-glo-ciphering APDU whose system title is not 8 octets.
    """
    if not apdu or apdu[0] != GENERAL_GLO_CIPHERING:
        return None
    if len(apdu) < 2 + SYSTEM_TITLE_LENGTH or apdu[1] != SYSTEM_TITLE_LENGTH:
        raise MalformedAnswer("a general-glo-ciphered APDU without an 8-octet system title")
    return apdu[2 : 2 + SYSTEM_TITLE_LENGTH]


def decode_notification(
    apdu: bytes, keys: NotificationKeys | None = None, *, last_counter: int | None = None
) -> DataNotification:
    """Decode a DataNotification, plain or general-glo-ciphered.

    Args:
        apdu: the APDU (InboundApdu.apdu).
        keys: the sending meter's keys; with keys the push must be ciphered.
        last_counter: the highest invocation counter accepted from this meter so far; a ciphered push must carry
            a higher one (a replay is refused).

    Raises:
        CipheringError: a plain push from a meter with keys, a ciphered one without keys, a tag that does not
            verify (altered, or the wrong keys), a replayed invocation counter.
        MalformedAnswer: not a DataNotification, or one gurux cannot decode.
    """
    tag = apdu[0] if apdu else None
    if tag == DATA_NOTIFICATION:
        if keys is not None:
            raise CipheringError("an unprotected push from a meter that ciphers its pushes")
    elif tag == GENERAL_GLO_CIPHERING:
        if keys is None:
            raise CipheringError("a ciphered push from a meter without keys")
    else:
        raise MalformedAnswer(f"APDU {tag if tag is None else hex(tag)} is not a data-notification")
    client = _receiver(keys)
    guard = ciphering.attach_guard(client.settings) if keys is not None else None
    if guard is not None:
        guard.last = last_counter
    reply, notify = GXReplyData(), GXReplyData()
    call_gurux("the push", client.getData, GXByteBuffer(apdu), reply, notify)
    if not notify.complete or notify.command != Command.DATA_NOTIFICATION:
        raise MalformedAnswer("the APDU holds no whole data-notification")
    timestamp = plain(notify.time) if notify.time is not None else None
    return DataNotification(
        timestamp=timestamp if isinstance(timestamp, datetime) else None,
        body=_body(notify.value),
        ciphered=keys is not None,
        system_title=peek_system_title(apdu),
        invocation_counter=guard.last if guard is not None else None,
    )


def _receiver(keys: NotificationKeys | None) -> Any:
    """A gurux client as the push receiver, reading bare APDUs (the framer already took the frames apart)."""
    client = GXDLMSSecureClient(True, PUSH_CLIENT, 1, Authentication.NONE, None, InterfaceType.PDU)
    if keys is not None:
        client.ciphering.security = Security.AUTHENTICATION_ENCRYPTION
        client.ciphering.systemTitle = _RECEIVER_TITLE
        client.ciphering.blockCipherKey = keys.block_cipher_key
        client.ciphering.authenticationKey = keys.authentication_key
    return client


def _body(value: Any) -> CosemValue:
    try:
        return plain(value)
    except RecursionError as error:  # a hostile push nesting structures thousands deep
        raise MalformedAnswer("push nested too deep") from error
