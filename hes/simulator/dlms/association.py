"""The meter-side application association: AARQ to RLRQ, authentication, ciphering, GET/SET/ACTION dispatch.

Sans-IO (habit 1): `Association.receive_apdu(apdu)` takes one complete APDU (the wrapper or HDLC layer below
reassembles it) and returns the APDU to send back; `drain_events()` hands the driver what happened, to log.

State (habit 2): two tables hold every rule. `_DISPATCH` says which APDU kind each state serves (anything else
is refused with an exception-response, as a meter does); `TRANSITIONS` (in `association_state`) says where each
outcome leads. States: idle -> associated, or idle -> authenticating -> associated for HLS (IEC 62056-5-3
9.2.7.4: the association is only usable once the client answered the challenge), associated -> released, and
error once the peer sent garbage (RemoteProtocolError): the driver must drop the link.

Errors (habit 3): malformed input raises RemoteProtocolError. A well-formed request the meter refuses is
answered on the wire: a rejecting AARE (wrong password, wrong key, unknown mechanism), an exception-response
(no association, deciphering error, replayed invocation counter) or a data-access / action result.

Everything that changes the state lives here; the rest has its own module, and the public names of
`association_config`, `association_events` and `association_state` are re-exported here: `association_acse`
decides whether an AARQ is accepted, and `association_services` serves GET/SET/ACTION with block transfer.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

from hes.simulator.dlms.apdu import ApduTag, ExceptionServiceError, ExceptionStateError
from hes.simulator.dlms.apdu_association import (
    ApplicationContext,
    AuthenticationMechanism,
    Conformance,
    InitiateResponse,
    ReleaseResponseReason,
    Rlre,
    decode_aarq,
    decode_initiate_request,
    decode_rlrq,
    encode_aare,
    encode_initiate_response,
    encode_rlre,
)
from hes.simulator.dlms.apdu_services import (
    ActionResult,
    decode_action_request,
    encode_action_response,
    encode_exception_response,
)
from hes.simulator.dlms.association_acse import AssociationContext, Refusal, accepting_aare, negotiate, rejecting_aare
from hes.simulator.dlms.association_config import (
    DEFAULT_CONFORMANCE,
    MIN_PDU_SIZE,
    AssociationConfig,
    ObjectModel,
    SecurityState,
)
from hes.simulator.dlms.association_events import (
    AssociationEstablished,
    AssociationEvent,
    AssociationRejected,
    AssociationReleased,
    AuthenticationFailed,
    RequestRefused,
)
from hes.simulator.dlms.association_services import MAX_LONG_SET_OCTETS, AssociationServices, Outcome
from hes.simulator.dlms.association_state import ASSOCIABLE, TRANSITIONS, State, Trigger
from hes.simulator.dlms.errors import LocalProtocolError, RemoteProtocolError
from hes.simulator.dlms.security import (
    DecipheredApdu,
    Protection,
    check_hls_gmac,
    cipher_apdu,
    decipher_apdu,
    hls_gmac,
    is_ciphered,
)
from hes.simulator.dlms.values import octets

__all__ = [
    "DEFAULT_CONFORMANCE",
    "MAX_LONG_SET_OCTETS",
    "MIN_PDU_SIZE",
    "TRANSITIONS",
    "Association",
    "AssociationConfig",
    "AssociationEstablished",
    "AssociationEvent",
    "AssociationRejected",
    "AssociationReleased",
    "AuthenticationFailed",
    "ObjectModel",
    "RequestRefused",
    "SecurityState",
    "State",
    "Trigger",
]


# The current association object (Association LN, class 15, 0-0:40.0.0.255) and its method 1,
# reply_to_HLS_authentication (IEC 62056-6-2 4.4.4 / Blue Book 4.4.4).
_ASSOCIATION_LN_CLASS = 15
_CURRENT_ASSOCIATION = bytes((0, 0, 40, 0, 0, 255))
_REPLY_TO_HLS_AUTHENTICATION = 1


class _Kind(Enum):
    AARQ = "aarq"
    RLRQ = "rlrq"
    GET = "get"
    SET = "set"
    ACTION = "action"


_KIND_BY_TAG: dict[int, _Kind] = {
    ApduTag.AARQ: _Kind.AARQ,
    ApduTag.RLRQ: _Kind.RLRQ,
    ApduTag.GET_REQUEST: _Kind.GET,
    ApduTag.SET_REQUEST: _Kind.SET,
    ApduTag.ACTION_REQUEST: _Kind.ACTION,
}
_SERVICE_KINDS = (_Kind.GET, _Kind.SET, _Kind.ACTION)
_SERVICE_CONFORMANCE = {_Kind.GET: Conformance.GET, _Kind.SET: Conformance.SET, _Kind.ACTION: Conformance.ACTION}

_Handler = Callable[["Association", bytes, "DecipheredApdu | None"], bytes]


class Association:
    """One application association of a simulated meter with one client, driven by complete APDUs."""

    def __init__(self, config: AssociationConfig, objects: ObjectModel, security: SecurityState | None = None) -> None:
        self.config = config
        self.objects = objects
        self.security = security if security is not None else SecurityState()
        self.state = State.IDLE
        self._context: AssociationContext | None = None
        self._services: AssociationServices | None = None
        self._events: list[AssociationEvent] = []

    # ------------------------------------------------------------------------------------------------ public

    def receive_apdu(self, apdu: bytes) -> bytes:
        """Serve one request APDU and return the response APDU to send.

        Args:
            apdu: one complete APDU as the transport delivered it (plain or ciphered).

        Returns:
            The response: an AARE, an RLRE, a GET/SET/ACTION response (ciphered the way the request was), or an
            exception-response refusing the request.

        Raises:
            RemoteProtocolError: the APDU is malformed; the association moves to error and the driver should close
                the link.
            LocalProtocolError: called again after an error.
        """
        if self.state is State.ERROR:
            raise LocalProtocolError("the association is in error: close the link")
        try:
            return self._receive(apdu)
        except RemoteProtocolError:
            self._reset()
            self._move(Trigger.PROTOCOL_ERROR)
            raise

    def drain_events(self) -> list[AssociationEvent]:
        """Events since the last call, oldest first."""
        events, self._events = self._events, []
        return events

    # ------------------------------------------------------------------------------------------------ dispatch

    def _receive(self, apdu: bytes) -> bytes:
        if not apdu:
            raise RemoteProtocolError("empty APDU")
        wire_length = len(apdu)
        protection: DecipheredApdu | None = None
        if is_ciphered(apdu[0]):
            deciphered = self._decipher(apdu)
            if isinstance(deciphered, bytes):
                return deciphered
            protection, apdu = deciphered, deciphered.apdu
        kind = _KIND_BY_TAG.get(apdu[0])
        if kind is None:
            return self._refuse(
                f"unknown APDU tag 0x{apdu[0]:02X}",
                ExceptionStateError.SERVICE_UNKNOWN,
                ExceptionServiceError.SERVICE_NOT_SUPPORTED,
            )
        handler = _DISPATCH.get((self.state, kind))
        if handler is None:
            return self._refuse(f"{kind.value} is not served while {self.state.value}")
        if kind in _SERVICE_KINDS:
            refusal = self._check_service(kind, wire_length, protection)
            if refusal is not None:
                return refusal
        elif protection is not None:
            return self._refuse("ACSE APDUs are never ciphered")
        return handler(self, apdu, protection)

    def _decipher(self, apdu: bytes) -> DecipheredApdu | bytes:
        """The deciphered request, or the exception-response refusing it (IEC 62056-5-3 9.2.7.2.4.5)."""
        context = self._context
        if context is None or context.keys is None or context.client_system_title is None:
            return self._refuse("ciphered APDU outside a ciphered association")
        try:
            protection = decipher_apdu(apdu, context.client_system_title, context.keys)
            self.security.client_guard.accept(protection.invocation_counter)
        except RemoteProtocolError as exc:
            if exc.code is None:
                raise
            return self._refuse(exc.message, service_error=ExceptionServiceError(exc.code))
        return protection

    def _check_service(self, kind: _Kind, wire_length: int, protection: DecipheredApdu | None) -> bytes | None:
        assert self._context is not None
        if protection is None:
            present = Protection.NONE
        else:
            present = Protection(protection.security_control & (Protection.AUTHENTICATED | Protection.ENCRYPTED))
        if self.config.security_policy & ~present:
            return self._refuse("request not protected as the security policy requires")
        if wire_length > self.config.server_max_pdu_size:
            return self._refuse(
                "request longer than the server max PDU size", service_error=ExceptionServiceError.PDU_TOO_LONG
            )
        if not self._context.conformance & _SERVICE_CONFORMANCE[kind]:
            return self._refuse(
                f"{kind.value} was not negotiated", service_error=ExceptionServiceError.SERVICE_NOT_SUPPORTED
            )
        return None

    def _refuse(
        self,
        reason: str,
        state_error: ExceptionStateError = ExceptionStateError.SERVICE_NOT_ALLOWED,
        service_error: ExceptionServiceError = ExceptionServiceError.OPERATION_NOT_POSSIBLE,
    ) -> bytes:
        self._events.append(RequestRefused(reason, state_error, service_error))
        last = self.security.client_guard.last
        expected = last + 1 if last is not None else None
        return encode_exception_response(state_error, service_error, expected)

    def _move(self, trigger: Trigger) -> None:
        target = TRANSITIONS.get((self.state, trigger))
        if target is None:
            source, self.state = self.state, State.ERROR
            raise LocalProtocolError(f"no transition from {source.value} on {trigger.value}")
        self.state = target

    def _reset(self) -> None:
        self._context = None
        self._services = None

    def _protect(self, response: bytes, protection: DecipheredApdu | None) -> bytes:
        """Cipher a response the way its request came (IEC 62056-5-3 9.2.7.2.4), with the meter's next counter."""
        if protection is None:
            return response
        assert self._context is not None and self._context.keys is not None
        return cipher_apdu(
            response,
            wrapping=protection.wrapping,
            dedicated=protection.dedicated,
            security_control=protection.security_control,
            system_title=self.config.system_title,
            invocation_counter=self.security.meter_counter.take(),
            keys=self._context.keys,
        )

    # ------------------------------------------------------------------------------------------------ AARQ / RLRQ

    def _on_aarq(self, apdu: bytes, protection: DecipheredApdu | None) -> bytes:
        aarq = decode_aarq(apdu)
        self._reset()
        outcome = negotiate(self.config, self.security.client_guard, aarq)
        if isinstance(outcome, Refusal):
            self._move(Trigger.REJECT)
            self._events.append(AssociationRejected(outcome.diagnostic, outcome.initiate_error))
            return encode_aare(rejecting_aare(self.config, aarq, outcome))
        context = self._context = outcome.context
        self._services = AssociationServices(self.objects, context.conformance, context.client_max_pdu_size)
        response = InitiateResponse(context.conformance, self.config.server_max_pdu_size)
        user_information = self._protect(encode_initiate_response(response), outcome.initiate_protection)
        aare = accepting_aare(self.config, context, user_information)
        if context.mechanism == AuthenticationMechanism.HLS_GMAC:
            self._move(Trigger.ASSOCIATE_HLS)  # usable once the client answered the challenge
        else:
            self._move(Trigger.ASSOCIATE)
            self._events.append(self._established())
        return encode_aare(aare)

    def _established(self) -> AssociationEstablished:
        context = self._context
        assert context is not None
        return AssociationEstablished(
            mechanism=context.mechanism,
            client_system_title=context.client_system_title,
            conformance=context.conformance,
            client_max_pdu_size=context.client_max_pdu_size,
            ciphered=context.application_context is ApplicationContext.LOGICAL_NAME_CIPHERED,
        )

    def _on_rlrq(self, apdu: bytes, protection: DecipheredApdu | None) -> bytes:
        rlrq = decode_rlrq(apdu)
        user_information: bytes | None = None
        if rlrq.user_information is not None and is_ciphered(rlrq.user_information[0]):
            # A protected release (IEC 62056-5-3 9.3.3): the RLRQ carries a ciphered InitiateRequest, the RLRE a
            # ciphered InitiateResponse, proving both sides still hold the keys.
            deciphered = self._decipher(rlrq.user_information)
            if isinstance(deciphered, bytes):
                return deciphered
            decode_initiate_request(deciphered.apdu)
            assert self._context is not None
            response = InitiateResponse(self._context.conformance, self.config.server_max_pdu_size)
            user_information = self._protect(encode_initiate_response(response), deciphered)
        self._reset()
        self._move(Trigger.RELEASE)
        self._events.append(AssociationReleased())
        return encode_rlre(Rlre(ReleaseResponseReason.NORMAL, user_information))

    def _on_hls_reply(self, apdu: bytes, protection: DecipheredApdu | None) -> bytes:
        """HLS pass 3 and 4 (IEC 62056-5-3 9.2.7.4): check f(StoC), answer f(CtoS)."""
        request = decode_action_request(apdu)
        context = self._context
        assert context is not None and context.keys is not None and context.client_system_title is not None
        method, parameters = request.method, request.parameters
        target = (method.class_id, method.instance_id, method.method_id)
        if target != (_ASSOCIATION_LN_CLASS, _CURRENT_ASSOCIATION, _REPLY_TO_HLS_AUTHENTICATION):
            # Until the client is authenticated, only the reply to the challenge is served.
            return self._protect(encode_action_response(request.invoke_id, ActionResult.READ_WRITE_DENIED), protection)
        # The counter inside f(StoC) is not put through the replay guard: it is usually one below the counter of
        # the enclosing ciphered ACTION (gurux and the Green Book example both do so), and the fresh random StoC
        # already makes a replayed f(StoC) useless.
        answer = parameters.value if parameters is not None else None
        if not isinstance(answer, bytes) or not check_hls_gmac(
            answer, context.server_challenge, context.client_system_title, context.keys
        ):
            response = self._protect(encode_action_response(request.invoke_id, ActionResult.OTHER_REASON), protection)
            self._events.append(AuthenticationFailed(context.mechanism))
            self._reset()
            self._move(Trigger.FAIL_AUTHENTICATION)
            return response
        reply = hls_gmac(
            context.client_challenge, self.config.system_title, self.security.meter_counter.take(), context.keys
        )
        self._move(Trigger.AUTHENTICATE)
        self._events.append(self._established())
        return self._protect(encode_action_response(request.invoke_id, ActionResult.SUCCESS, octets(reply)), protection)

    # ------------------------------------------------------------------------------------------------ services

    def _on_get(self, apdu: bytes, protection: DecipheredApdu | None) -> bytes:
        return self._answer(self._serving().get(apdu, protection), protection)

    def _on_set(self, apdu: bytes, protection: DecipheredApdu | None) -> bytes:
        return self._answer(self._serving().set(apdu, protection), protection)

    def _on_action(self, apdu: bytes, protection: DecipheredApdu | None) -> bytes:
        return self._answer(self._serving().action(apdu, protection), protection)

    def _serving(self) -> AssociationServices:
        assert self._services is not None
        return self._services

    def _answer(self, outcome: Outcome, protection: DecipheredApdu | None) -> bytes:
        """A service's response ciphered like its request, or the exception-response refusing the request."""
        if isinstance(outcome, RequestRefused):
            return self._refuse(outcome.reason, outcome.state_error, outcome.service_error)
        return self._protect(outcome, protection)


_DISPATCH: dict[tuple[State, _Kind], _Handler] = {
    **{(state, _Kind.AARQ): Association._on_aarq for state in ASSOCIABLE},
    (State.AUTHENTICATING, _Kind.RLRQ): Association._on_rlrq,
    (State.AUTHENTICATING, _Kind.ACTION): Association._on_hls_reply,
    (State.ASSOCIATED, _Kind.RLRQ): Association._on_rlrq,
    (State.ASSOCIATED, _Kind.GET): Association._on_get,
    (State.ASSOCIATED, _Kind.SET): Association._on_set,
    (State.ASSOCIATED, _Kind.ACTION): Association._on_action,
}
