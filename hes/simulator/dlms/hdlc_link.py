"""The meter (secondary station) side of an IEC 62056-46 HDLC link, sans-IO, as a transition table.

API (h2 style): `link.receive_data(octets)` returns the events those octets complete (`LinkConnected`,
`ApduReceived`, `LinkDisconnected`) and queues the link's own answers (UA, RR, DM, FRMR); `link.send_apdu(apdu)`
queues the reply to a received APDU; `link.data_to_send()` hands over every queued octet. A meter on HDLC is a
secondary station in normal response mode: it transmits only when the client polls (P bit) and ends each
transmission with the F bit, so after `ApduReceived` the link holds the poll until the application answers with
`send_apdu(...)`, or with `acknowledge()` when it has nothing to say.

Supported: SNRM/UA with parameter negotiation (6.4.4.4.3.2; the parameters' codec is `hdlc_parameters`, whose
names are re-exported here), I-frames with N(S)/N(R) checks and retransmission of an answer the client did not
receive, RR/RNR, segmentation of long APDUs in both directions (segmentation bit, one segment per poll), DISC/UA,
DM in disconnected mode, FRMR for frames the standard rejects. Window size 1 only (the UA offers 1, so a client
never sends or expects more): what real meters and gurux-dlms use.

Errors: a frame that is corrupt (HCS/FCS mismatch, no closing flag, malformed address or parameters), or that the
link has to reject (FRMR), makes `receive_data` raise RemoteProtocolError after any answer the standard prescribes
has been queued. The link stays usable: events completed before the bad frame are returned by the next
`receive_data` call, and the octets after it are kept (`receive_data(b"")` processes them). Frames for another
station (multi-drop line) and octets outside frames are ignored silently, as the standard requires.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import NoReturn

from hes.simulator.dlms.errors import LocalProtocolError, RemoteProtocolError
from hes.simulator.dlms.hdlc_frame import (
    DEFAULT_INFO_FIELD,
    LLC_COMMAND,
    LLC_RESPONSE,
    MAX_INFO_FIELD,
    MIN_INFO_FIELD,
    FrameKind,
    HdlcAddress,
    HdlcFrame,
    HdlcFrameReader,
    encode_frame,
    i_control,
    s_control,
    u_control,
)
from hes.simulator.dlms.hdlc_parameters import HdlcParameters, decode_parameters, encode_parameters, negotiate

__all__ = [
    "DEFAULT_MAX_APDU",
    "ApduReceived",
    "HdlcLink",
    "HdlcParameters",
    "LinkConnected",
    "LinkDisconnected",
    "LinkEvent",
    "LinkState",
    "decode_parameters",
    "encode_parameters",
]

# Largest APDU reassembled from segmented I-frames. Meters announce a server max receive PDU size of 512..2048
# octets; a ciphered APDU adds a few dozen. 8 KiB (as the wrapper framer) bounds what one client makes us hold.
DEFAULT_MAX_APDU = 8192

# FRMR information field, third octet (ISO/IEC 13239, FRMR response).
_FRMR_W = 0x01  # control field undefined or not implemented
_FRMR_X = 0x02  # information field not permitted with this frame
_FRMR_Y = 0x04  # information field longer than the negotiated maximum
_FRMR_Z = 0x08  # N(R) acknowledges a frame never sent


class LinkState(Enum):
    """Modes of the secondary station (IEC 62056-46, ISO/IEC 13239 unbalanced operation)."""

    NDM = "normal disconnected mode"
    NRM = "normal response mode"
    FRMR = "frame reject condition"  # after an FRMR, until the client sends SNRM or DISC


@dataclass(frozen=True, slots=True)
class LinkConnected:
    """The client connected (SNRM answered with UA); `parameters` are the meter's negotiated ones."""

    client: int
    parameters: HdlcParameters


@dataclass(frozen=True, slots=True)
class LinkDisconnected:
    """The client disconnected (DISC answered with UA)."""

    client: int


@dataclass(frozen=True, slots=True)
class ApduReceived:
    """A complete APDU (reassembled, LLC header removed) arrived from the client."""

    client: int
    apdu: bytes


LinkEvent = LinkConnected | LinkDisconnected | ApduReceived


class HdlcLink:
    """One meter's HDLC secondary station on one line; does no I/O (see the module docstring for the API)."""

    def __init__(
        self,
        address: HdlcAddress,
        *,
        max_info_transmit: int = DEFAULT_INFO_FIELD,
        max_info_receive: int = DEFAULT_INFO_FIELD,
        max_apdu: int = DEFAULT_MAX_APDU,
    ) -> None:
        """A link for the server at `address`, able to send and receive information fields of the given sizes.

        Raises:
            ValueError: an information field size outside 32..2030, or max_apdu below 1.
        """
        for size in (max_info_transmit, max_info_receive):
            if not MIN_INFO_FIELD <= size <= MAX_INFO_FIELD:
                raise ValueError(f"information field size {size} outside {MIN_INFO_FIELD}..{MAX_INFO_FIELD}")
        if max_apdu < 1:
            raise ValueError("max_apdu must be positive")
        self.address = address
        self.max_apdu = max_apdu
        self.state = LinkState.NDM
        self.parameters = HdlcParameters()
        self.client: HdlcAddress | None = None
        self._capability = HdlcParameters(max_info_transmit, max_info_receive, 1, 1)
        self._reader = HdlcFrameReader(max_info_receive)
        self._out = bytearray()
        self._events: list[LinkEvent] = []
        self._request: HdlcFrame | None = None  # the last frame from the client: our answers mirror its addresses
        self._reset()

    def _reset(self) -> None:
        self._send_state = 0  # V(S): N(S) of our next I-frame
        self._receive_state = 0  # V(R): N(S) we expect in the client's next I-frame
        self._unacked: bytes | None = None  # our last I-frame until the client's N(R) acknowledges it
        self._segments: deque[tuple[bytes, bool]] = deque()  # (information, segmentation bit) still to send
        self._reassembly = bytearray()
        self._discarding = False  # dropping the remaining segments of an APDU that was refused
        self._poll = False  # the client polled and waits for our frame with the F bit
        self._frmr_information = b""

    # ------------------------------------------------------------------------------------------------ public API

    def receive_data(self, data: bytes) -> list[LinkEvent]:
        """Feed octets received on the line; returns the events they complete, in order.

        Args:
            data: any number of octets: part of a frame, one frame, several frames, noise. Empty bytes processes
                octets still buffered after an error.

        Raises:
            RemoteProtocolError: a corrupt or rejected frame (see the module docstring); answers it calls for are
                already queued, and events completed before it come with the next call.
        """
        self._reader.receive_data(data)
        while (frame := self._reader.next_frame()) is not None:
            self._handle(frame)
        events, self._events = self._events, []
        return events

    def send_apdu(self, apdu: bytes) -> None:
        """Queue `apdu` for the client: LLC header, then segments of the negotiated maximum information length.

        The first segment goes out at once if the client is polling, the rest one per RR, as a meter does.

        Raises:
            LocalProtocolError: not connected, or the previous APDU has not been fully sent.
        """
        if self.state is not LinkState.NRM:
            raise LocalProtocolError(f"cannot send an APDU in {self.state.value}")
        if self._segments:
            raise LocalProtocolError("the previous APDU is still being sent")
        payload = LLC_RESPONSE + apdu
        size = self.parameters.max_info_transmit
        for start in range(0, len(payload), size):
            self._segments.append((payload[start : start + size], start + size < len(payload)))
        self._transmit(resend=False)

    def acknowledge(self) -> None:
        """Answer the client's poll with RR when a received APDU calls for no reply (nothing to send)."""
        self._transmit(resend=False)

    def data_to_send(self) -> bytes:
        """Every octet queued for the line since the last call (possibly none)."""
        out = bytes(self._out)
        self._out.clear()
        return out

    # ------------------------------------------------------------------------------------------------ dispatch

    def _handle(self, frame: HdlcFrame) -> None:
        if not frame.destination.addresses(self.address):
            return  # for another station on a multi-drop line: not ours to answer
        if self.state is not LinkState.NDM and frame.kind is not FrameKind.SNRM and frame.source != self.client:
            self._reply_dm(frame)  # a client with no connection to us
            return
        self._request = frame
        transition = _TRANSITIONS.get((self.state, frame.kind))
        if transition is None:
            self._refuse(frame)
        handler, next_state = transition
        handler(self, frame)
        self.state = next_state

    def _refuse(self, frame: HdlcFrame) -> NoReturn:
        """A frame the state table has no row for: DM when disconnected, else FRMR (W: undefined command)."""
        if self.state is LinkState.NDM:
            self._reply_dm(frame)
            raise RemoteProtocolError(f"{frame.kind.value} frame (control 0x{frame.control:02X}) in {self.state.value}")
        self._frame_reject(frame, _FRMR_W, f"{frame.kind.value} frame (control 0x{frame.control:02X}) not accepted")

    def _reply(self, request: HdlcFrame, control: int, information: bytes = b"", segmented: bool = False) -> None:
        # Answers go back to the sender, from the address exactly as the client wrote it (1, 2 or 4 octets).
        self._out += encode_frame(HdlcFrame(request.source, request.destination, control, information, segmented))

    def _frame_reject(self, frame: HdlcFrame, reason: int, message: str) -> NoReturn:
        """Send FRMR (ISO/IEC 13239 FRMR response), enter the frame reject condition and raise."""
        self._segments.clear()
        self._reassembly.clear()
        self._unacked = None
        self._poll = False
        self._frmr_information = bytes(
            (frame.control, self._receive_state << 5 | self._send_state << 1, reason)  # C/R 0: it was a command
        )
        self._reply(frame, u_control(FrameKind.FRMR, True), self._frmr_information)
        self.state = LinkState.FRMR  # the one state change outside the table: every FRMR path ends here
        raise RemoteProtocolError(message)

    # ------------------------------------------------------------------------------------------------ handlers

    def _on_snrm(self, frame: HdlcFrame) -> None:
        try:
            proposal = decode_parameters(frame.information)
        except RemoteProtocolError:
            self._reply_dm(frame)
            raise
        self._reset()
        self.parameters = negotiate(proposal, self._capability)
        self.client = frame.source
        self._reply(frame, u_control(FrameKind.UA, True), encode_parameters(self.parameters))
        self._events.append(LinkConnected(frame.source.upper, self.parameters))

    def _on_disc(self, frame: HdlcFrame) -> None:
        client = self.client or frame.source
        self._reset()
        self.client = None
        self.parameters = HdlcParameters()
        self._reply(frame, u_control(FrameKind.UA, True))
        self._events.append(LinkDisconnected(client.upper))

    def _reply_dm(self, frame: HdlcFrame) -> None:
        if frame.poll_final:  # a secondary answers only when polled
            self._reply(frame, u_control(FrameKind.DM, True))

    def _ignore(self, frame: HdlcFrame) -> None:
        """UI frames carry nothing a meter acts on here (broadcast time sync is not simulated)."""

    def _repeat_frmr(self, frame: HdlcFrame) -> None:
        # In the frame reject condition every command gets the same FRMR until SNRM or DISC (ISO/IEC 13239).
        self._reply(frame, u_control(FrameKind.FRMR, True), self._frmr_information)

    def _on_i(self, frame: HdlcFrame) -> None:
        if len(frame.information) > self.parameters.max_info_receive:
            self._frame_reject(frame, _FRMR_Y, f"information field of {len(frame.information)} octets")
        resend = self._acknowledge(frame)
        self._poll = self._poll or frame.poll_final
        if frame.send_sequence != self._receive_state:
            # Not the frame we expect: a repeat of one we took (our answer got lost) or one after a gap. Its
            # information is discarded; our answer (RR, or the lost I-frame again) tells the client where we are.
            self._transmit(resend)
            return
        self._receive_state = (self._receive_state + 1) & 7
        # A new request supersedes whatever the client did not fetch of our previous answer.
        self._segments.clear()
        self._unacked = None
        if self._collect(frame):
            return  # a complete APDU: the poll is held until the application answers
        self._transmit(resend=False)

    def _on_rr(self, frame: HdlcFrame) -> None:
        self._no_information(frame)
        resend = self._acknowledge(frame)
        self._poll = self._poll or frame.poll_final
        self._transmit(resend)

    def _on_rnr(self, frame: HdlcFrame) -> None:
        # The client is busy: acknowledge, answer with RR, send no I-frame until it polls with RR.
        self._no_information(frame)
        self._acknowledge(frame)
        if frame.poll_final:
            self._poll = False
            self._reply(frame, s_control(FrameKind.RR, self._receive_state, True))

    # ------------------------------------------------------------------------------------------------ sequencing

    def _no_information(self, frame: HdlcFrame) -> None:
        if frame.information:
            self._frame_reject(frame, _FRMR_X, f"{frame.kind.value} frame with an information field")

    def _acknowledge(self, frame: HdlcFrame) -> bool:
        """Apply the frame's N(R); True when our last I-frame did not reach the client and must be sent again."""
        received = frame.receive_sequence
        if received == self._send_state:
            self._unacked = None
            return False
        if self._unacked is not None and received == (self._send_state - 1) & 7:
            return True
        self._frame_reject(frame, _FRMR_Z, f"N(R) {received} acknowledges nothing we sent (V(S) {self._send_state})")

    def _collect(self, frame: HdlcFrame) -> bool:
        """Add an I-frame's information to the APDU being reassembled; True when it completed one."""
        if self._discarding:
            self._discarding = frame.segmented
            return False
        if len(self._reassembly) + len(frame.information) > self.max_apdu + len(LLC_COMMAND):
            self._reassembly.clear()
            self._discarding = frame.segmented
            self._transmit(resend=False)
            raise RemoteProtocolError(f"APDU longer than {self.max_apdu} octets")
        self._reassembly += frame.information
        if frame.segmented:
            return False
        payload = bytes(self._reassembly)
        self._reassembly.clear()
        if not payload.startswith(LLC_COMMAND):
            self._transmit(resend=False)
            raise RemoteProtocolError(f"APDU without the LLC command header E6 E6 00: {payload[:3].hex()}")
        self._events.append(ApduReceived(frame.source.upper, payload[len(LLC_COMMAND) :]))
        return True

    def _transmit(self, resend: bool) -> None:
        """Answer a held poll: our unacknowledged I-frame again, else the next segment, else RR; F bit set."""
        if not self._poll or self._request is None:
            return
        self._poll = False
        if resend and self._unacked is not None:
            self._out += self._unacked
        elif self._unacked is None and self._segments:
            information, segmented = self._segments.popleft()
            control = i_control(self._send_state, self._receive_state, True)
            self._unacked = encode_frame(
                HdlcFrame(self._request.source, self._request.destination, control, information, segmented)
            )
            self._send_state = (self._send_state + 1) & 7
            self._out += self._unacked
        else:
            self._reply(self._request, s_control(FrameKind.RR, self._receive_state, True))


_Handler = Callable[[HdlcLink, HdlcFrame], None]

# The whole state machine: (state, received frame kind) -> (handler, next state). A pair missing here is refused
# (DM in NDM, FRMR otherwise). In disconnected mode a secondary answers every command but SNRM with DM
# (ISO/IEC 13239); UI frames are never answered.
_TRANSITIONS: dict[tuple[LinkState, FrameKind], tuple[_Handler, LinkState]] = {
    (LinkState.NDM, FrameKind.SNRM): (HdlcLink._on_snrm, LinkState.NRM),
    (LinkState.NDM, FrameKind.DISC): (HdlcLink._reply_dm, LinkState.NDM),
    (LinkState.NDM, FrameKind.I): (HdlcLink._reply_dm, LinkState.NDM),
    (LinkState.NDM, FrameKind.RR): (HdlcLink._reply_dm, LinkState.NDM),
    (LinkState.NDM, FrameKind.RNR): (HdlcLink._reply_dm, LinkState.NDM),
    (LinkState.NDM, FrameKind.UI): (HdlcLink._ignore, LinkState.NDM),
    (LinkState.NRM, FrameKind.SNRM): (HdlcLink._on_snrm, LinkState.NRM),
    (LinkState.NRM, FrameKind.DISC): (HdlcLink._on_disc, LinkState.NDM),
    (LinkState.NRM, FrameKind.I): (HdlcLink._on_i, LinkState.NRM),
    (LinkState.NRM, FrameKind.RR): (HdlcLink._on_rr, LinkState.NRM),
    (LinkState.NRM, FrameKind.RNR): (HdlcLink._on_rnr, LinkState.NRM),
    (LinkState.NRM, FrameKind.UI): (HdlcLink._ignore, LinkState.NRM),
    (LinkState.FRMR, FrameKind.SNRM): (HdlcLink._on_snrm, LinkState.NRM),
    (LinkState.FRMR, FrameKind.DISC): (HdlcLink._on_disc, LinkState.NDM),
    (LinkState.FRMR, FrameKind.I): (HdlcLink._repeat_frmr, LinkState.FRMR),
    (LinkState.FRMR, FrameKind.RR): (HdlcLink._repeat_frmr, LinkState.FRMR),
    (LinkState.FRMR, FrameKind.RNR): (HdlcLink._repeat_frmr, LinkState.FRMR),
    (LinkState.FRMR, FrameKind.UI): (HdlcLink._ignore, LinkState.FRMR),
}
