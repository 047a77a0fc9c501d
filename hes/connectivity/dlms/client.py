"""The sans-IO DLMS/COSEM client core: one gurux secure client per session, bytes in, frames out (habit 1).

A request method (`associate`, `get`, `get_range`, `set`, `invoke`, `release`) returns an `Exchange`
(hes.connectivity.dlms.exchange) whose `request` is the first frame to send. The driver sends it and feeds every
octet received to `receive_data`, which answers `NEED_DATA` (the answer is not whole yet), `Send(frame)` (send
this next: the next segment of a long request, a receiver-ready for the next HDLC segment or GET block, or the
next step of the association) or `DONE` (the exchange's `result()` is ready, or raises the meter's refusal).

Octets go through a framer first (hes.connectivity.dlms.framing): gurux only ever sees whole frames, garbage and
oversized frames fail at once, and in a ciphered association an unprotected GET/SET/ACTION answer is refused
before it is decoded. Everything gurux raises on a meter's octets becomes one of our errors at this single
receive boundary (gurux_bridge.call_gurux); a session-ending error moves the session to `error`.

No asyncio, socket or database import here: the same core serves outbound sessions, dial-in sockets and tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from gurux_dlms import GXByteBuffer, GXReplyData  # type: ignore[import-untyped]
from gurux_dlms.enums import Command, Conformance  # type: ignore[import-untyped]

from hes.connectivity.dlms import ciphering
from hes.connectivity.dlms.decoding import plain
from hes.connectivity.dlms.encoding import encode
from hes.connectivity.dlms.errors import (
    ActionError,
    AuthenticationFailed,
    CipheringError,
    DataAccessError,
    DlmsError,
    LimitExceeded,
    LocalDlmsError,
    LocalProtocolError,
    MalformedAnswer,
)
from hes.connectivity.dlms.exchange import DONE, NEED_DATA, Exchange, Phase, Progress, Send
from hes.connectivity.dlms.framing import Frame, Framer, HdlcFramer, WrapperFramer
from hes.connectivity.dlms.gurux_bridge import RAW_VALUE, Target, call_gurux, frames, new_gurux_client
from hes.connectivity.dlms.limits import ClientLimits
from hes.connectivity.dlms.link import MeterLink
from hes.connectivity.dlms.state import SessionState, Trigger, transition
from hes.connectivity.dlms.values import CosemValue, DlmsData, GetResult, ObjectReference
from hes.obis.codes import ObisCode

__all__ = ["DlmsClient"]

T = TypeVar("T")

# xDLMS answers that must come ciphered in a ciphered association: get-, set- and action-response
# (IEC 62056-5-3 9.2.7.2.4). An exception-response may come plain: a meter that cannot decipher sends one.
_PLAIN_SERVICE_ANSWERS = frozenset({0xC4, 0xC5, 0xC7})
_PROTECTED_STATES = frozenset({SessionState.AUTHENTICATING, SessionState.ASSOCIATED, SessionState.RELEASING})


_NOTIFICATION_COMMANDS = frozenset({Command.DATA_NOTIFICATION, Command.EVENT_NOTIFICATION})


class DlmsClient:
    """The protocol core of one session with one meter (not thread-safe; one exchange at a time)."""

    def __init__(self, link: MeterLink, limits: ClientLimits | None = None) -> None:
        """A client for `link`, in state idle; nothing is sent until the driver sends `associate().request`."""
        self.link = link
        self.limits = limits or ClientLimits()
        self.state = SessionState.IDLE
        self.notifications: list[bytes] = []  # frames of pushes (DataNotification) received mid-session
        self._gx = new_gurux_client(link, self.limits)
        self._guard = ciphering.attach_guard(self._gx.settings) if link.ciphered else None
        self._framer: Framer = (
            HdlcFramer(self.limits.max_hdlc_frame) if link.hdlc else WrapperFramer(self.limits.max_wrapper_apdu)
        )
        self._reply = GXReplyData()
        self._notify = GXReplyData()
        self._exchange: Exchange[Any] | None = None
        self._phase: Phase | None = None
        self._pending: list[Frame] = []
        self._round_trips = 0

    @property
    def invocation_counter(self) -> int:
        """The next invocation counter this client would use (persist it after the session)."""
        return int(self._gx.ciphering.invocationCounter) if self.link.ciphered else self.link.invocation_counter

    @property
    def multiple_references(self) -> bool:
        """Whether the meter accepted GET with a list of attributes (conformance bit multiple-references)."""
        return bool(self._gx.negotiatedConformance & Conformance.MULTIPLE_REFERENCES)

    @property
    def busy(self) -> bool:
        """Whether an exchange is waiting for its answer."""
        return self._exchange is not None

    # ------------------------------------------------------------------------------------------------ requests

    def associate(self) -> Exchange[None]:
        """SNRM/UA (HDLC), AARQ/AARE, then HLS pass 3/4 when the mechanism needs it.

        Raises (from result()): nothing; failures raise from receive_data (AssociationRejected,
        AuthenticationFailed, ...).
        """
        exchange: Exchange[None] = Exchange()
        if self.link.hdlc:
            self._move(Trigger.OPEN_LINK)
            return self._start(exchange, Phase(frames(self._gx.snrmRequest()), self._on_ua))
        self._move(Trigger.REQUEST_ASSOCIATION)
        return self._start(exchange, Phase(frames(self._gx.aarqRequest()), self._on_aare))

    def get(self, references: Sequence[ObjectReference], *, with_list: bool = True) -> Exchange[list[GetResult]]:
        """GET the attributes `references`, one result each in order.

        Several attributes go in GET-with-list requests when `with_list` and the meter negotiated it, else one
        GET each. gurux keeps no per-attribute result of a with-list answer: an attribute refused there comes
        back with the answer's last error code: GET it alone (`with_list=False`) to learn its own.
        """
        if not references:
            raise LocalDlmsError("a GET needs at least one attribute")
        self._check_idle()
        self._move(Trigger.REQUEST)
        exchange: Exchange[list[GetResult]] = Exchange()
        if len(references) == 1 or not with_list or not self.multiple_references:
            return self._start(exchange, self._single_gets(list(references), [], exchange))
        targets = [(Target(ref.class_id, ref.obis), ref.attribute) for ref in references]
        messages = [frames(message) for message in self._gx.readList(targets)]
        return self._start(exchange, self._list_gets(messages, list(references), [], exchange))

    def get_range(
        self, profile: ObisCode, sort: ObjectReference, start: datetime, end: datetime
    ) -> Exchange[GetResult]:
        """GET a profile generic's buffer (attribute 2) by range of its clock column `sort` (selector 1)."""
        self._check_idle()
        self._move(Trigger.REQUEST)
        target = Target(7, profile)
        target.sortObject = Target(sort.class_id, sort.obis)
        reference = ObjectReference(7, profile, 2)
        exchange: Exchange[GetResult] = Exchange()

        def on_answer(reply: Any) -> None:
            exchange.finish(self._get_result(reference, reply))

        return self._start(exchange, Phase(frames(self._gx.readRowsByRange(target, start, end)), on_answer))

    def set(self, reference: ObjectReference, value: DlmsData) -> Exchange[None]:
        """SET one attribute to `value`; result() raises DataAccessError when the meter refuses."""
        encoded = encode(value)
        self._check_idle()
        self._move(Trigger.REQUEST)
        exchange: Exchange[None] = Exchange()

        def on_answer(reply: Any) -> None:
            if reply.error:
                exchange.refuse(DataAccessError(reference.obis, reference.attribute, int(reply.error)))
            else:
                exchange.finish(None)

        target = Target(reference.class_id, reference.obis, encoded)
        return self._start(exchange, Phase(frames(self._gx.write(target, reference.attribute)), on_answer))

    def invoke(
        self, class_id: int, obis: ObisCode, method: int, parameter: DlmsData | None = None
    ) -> Exchange[CosemValue]:
        """ACTION `method` of an object with `parameter` (integer 0 when None, as the Blue Book's methods take).

        result() is what the method returned (None for most), or raises ActionError when the meter refuses.
        """
        encoded = encode(parameter if parameter is not None else DlmsData.integer(0))
        self._check_idle()
        self._move(Trigger.REQUEST)
        exchange: Exchange[CosemValue] = Exchange()

        def on_answer(reply: Any) -> None:
            if reply.error:
                exchange.refuse(ActionError(obis, method, int(reply.error)))
            else:
                exchange.finish(self._decode(reply.value))

        target = Target(class_id, obis)
        request = self._gx.method(target, method, encoded, RAW_VALUE)
        return self._start(exchange, Phase(frames(request), on_answer))

    def release(self) -> Exchange[None]:
        """RLRQ/RLRE, then DISC/UA on HDLC."""
        self._check_idle()
        self._move(Trigger.RELEASE)
        exchange: Exchange[None] = Exchange()
        hdlc = self.link.hdlc

        def on_disconnected(reply: Any) -> None:
            self._move(Trigger.RELEASED)
            exchange.finish(None)

        def on_released(reply: Any) -> Phase | None:
            if hdlc:
                return Phase(frames(self._gx.disconnectRequest()), on_disconnected)
            on_disconnected(reply)
            return None

        return self._start(exchange, Phase(frames(self._gx.releaseRequest()), on_released))

    def close(self) -> None:
        """The connection is gone (hung up, or given up): no exchange can finish any more."""
        self._exchange = self._phase = None
        self.state = transition(self.state, Trigger.CLOSE)

    def fail(self) -> None:
        """End the session in error (a timeout or a lost connection seen by the driver)."""
        self._exchange = self._phase = None
        self.state = transition(self.state, Trigger.FAIL)

    # ------------------------------------------------------------------------------------------------ answers

    def receive_data(self, data: bytes) -> Send | Progress:
        """Feed octets received from the meter.

        Args:
            data: any number of octets (part of a frame, one frame, several); empty bytes change nothing.

        Returns:
            NEED_DATA (read more), Send(frame) (send it, then read), or DONE (the exchange's result is ready).

        Raises:
            LocalProtocolError: no exchange is waiting for an answer.
            RemoteDlmsError: garbage, an oversized frame or answer, an undecodable or wrongly ciphered answer,
                a refused association or authentication, an exception-response. The session is then in error.
        """
        if self._exchange is None:
            raise LocalProtocolError("octets received while no request waits for an answer")
        try:
            received = self._pending + self._framer.receive_data(data)
            self._pending = []
            for position, frame in enumerate(received):
                step = self._on_frame(frame)
                if step is not NEED_DATA:
                    self._pending = received[position + 1 :]  # whole frames past the answer wait for the next
                    return step
            return NEED_DATA
        except DlmsError as error:
            if error.ends_session:
                self.fail()
            raise

    def _on_frame(self, frame: Frame) -> Send | Progress:
        if self.link.ciphered and self.state in _PROTECTED_STATES and frame.apdu_tag in _PLAIN_SERVICE_ANSWERS:
            raise CipheringError(f"unprotected answer {frame.apdu_tag:#04x} in a ciphered association")
        reply = self._reply
        complete = call_gurux("the answer", self._gx.getData, GXByteBuffer(frame.data), reply, self._notify)
        if self._notify.complete:
            # gurux also completes `notify` for HDLC frames that are no push (UA, RR): keep only notifications.
            if self._notify.command in _NOTIFICATION_COMMANDS:
                self.notifications.append(frame.data)
            self._notify = GXReplyData()
        if not complete:
            return NEED_DATA
        if len(reply.data) > self.limits.max_answer_octets:
            raise LimitExceeded(f"answer longer than {self.limits.max_answer_octets} octets")
        if reply.isMoreData():
            self._round_trips += 1
            if self._round_trips > self.limits.max_round_trips:
                raise LimitExceeded(f"answer in more than {self.limits.max_round_trips} blocks or segments")
            return Send(bytes(call_gurux("a receiver-ready", self._gx.receiverReady, reply)))
        phase, exchange = self._phase, self._exchange
        assert phase is not None and exchange is not None  # receive_data checked the exchange
        if phase.frames:
            return Send(self._next_frame())
        following = phase.on_answer(reply)
        if following is not None:
            self._phase, self._round_trips = following, 0
            return Send(self._next_frame())
        if not exchange.done:
            raise LocalProtocolError("an exchange ended without a result")
        self._exchange = self._phase = None
        return DONE

    # ------------------------------------------------------------------------------------------------ association

    def _on_ua(self, reply: Any) -> Phase:
        call_gurux("the UA", self._gx.parseUAResponse, reply.data)
        self._move(Trigger.REQUEST_ASSOCIATION)
        return Phase(frames(self._gx.aarqRequest()), self._on_aare)

    def _on_aare(self, reply: Any) -> Phase | None:
        call_gurux("the AARE", self._gx.parseAareResponse, reply.data)
        if self._guard is not None and self._guard.last is None:
            # Without a ciphered InitiateResponse nothing proves the meter holds the keys (IEC 62056-5-3 9.3.2).
            raise CipheringError("the AARE of a ciphered association came without a ciphered InitiateResponse")
        if self._gx.getIsAuthenticationRequired():
            self._move(Trigger.CHALLENGE)
            return Phase(frames(self._gx.getApplicationAssociationRequest()), self._on_hls_answer)
        self._established()
        return None

    def _on_hls_answer(self, reply: Any) -> None:
        if reply.error:
            raise AuthenticationFailed("the meter refused our answer to its challenge (f(StoC))", int(reply.error))
        try:
            call_gurux("the HLS answer", self._gx.parseApplicationAssociationResponse, reply.data)
        except MalformedAnswer as error:
            raise AuthenticationFailed(f"the meter's f(CtoS) does not verify: {error.message}") from error
        self._established()

    def _established(self) -> None:
        self._move(Trigger.ASSOCIATE)
        exchange = self._exchange
        assert exchange is not None
        exchange.finish(None)

    # ------------------------------------------------------------------------------------------------ GET

    def _single_gets(
        self, references: list[ObjectReference], results: list[GetResult], exchange: Exchange[list[GetResult]]
    ) -> Phase:
        reference = references[len(results)]

        def on_answer(reply: Any) -> Phase | None:
            results.append(self._get_result(reference, reply))
            if len(results) < len(references):
                return self._single_gets(references, results, exchange)
            exchange.finish(results)
            return None

        target = Target(reference.class_id, reference.obis)
        return Phase(frames(self._gx.read(target, reference.attribute)), on_answer)

    def _list_gets(
        self,
        messages: list[list[bytes]],
        references: list[ObjectReference],
        results: list[GetResult],
        exchange: Exchange[list[GetResult]],
    ) -> Phase:
        message = messages[0]

        def on_answer(reply: Any) -> Phase | None:
            values = reply.value if isinstance(reply.value, list) else []
            batch = references[len(results) : len(results) + len(values)]
            if len(values) != len(batch) or not batch:
                raise MalformedAnswer(f"GET-with-list answer of {len(values)} results")
            refused = int(reply.error) if reply.error else None
            for reference, value in zip(batch, values, strict=True):
                # gurux keeps no per-item result: a refused item is None, like null-data. Mark it so the caller
                # can GET it alone to learn its own result.
                error = refused if value is None and refused is not None else None
                results.append(GetResult(reference, self._decode(value), error))
            if len(messages) > 1:
                return self._list_gets(messages[1:], references, results, exchange)
            exchange.finish(results)
            return None

        return Phase(message, on_answer)

    def _get_result(self, reference: ObjectReference, reply: Any) -> GetResult:
        if reply.error:
            return GetResult(reference, None, int(reply.error))
        return GetResult(reference, self._decode(reply.value))

    # ------------------------------------------------------------------------------------------------ internals

    def _decode(self, value: Any) -> CosemValue:
        try:
            return plain(value)
        except RecursionError as error:  # a hostile answer nesting structures thousands deep
            raise MalformedAnswer("answer nested too deep") from error

    def _check_idle(self) -> None:
        if self._exchange is not None:
            # A caller's bug, not the session's: the exchange in flight goes on.
            raise LocalDlmsError("another request is waiting for its answer")

    def _start(self, exchange: Exchange[T], phase: Phase) -> Exchange[T]:
        self._check_idle()
        if not phase.frames:
            raise LocalProtocolError("gurux produced no request frame")
        self._exchange, self._phase, self._round_trips = exchange, phase, 0
        exchange.request = self._next_frame()
        return exchange

    def _next_frame(self) -> bytes:
        assert self._phase is not None
        self._reply.clear()
        return self._phase.frames.pop(0)

    def _move(self, trigger: Trigger) -> None:
        try:
            self.state = transition(self.state, trigger)
        except LocalProtocolError:
            self.state = transition(self.state, Trigger.FAIL)
            raise
