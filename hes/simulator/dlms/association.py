"""The meter-side application association: AARQ to RLRQ, authentication, ciphering, GET/SET/ACTION dispatch.

Sans-IO (habit 1): `Association.receive_apdu(apdu)` takes one complete APDU (the wrapper or HDLC layer below
reassembles it) and returns the APDU to send back; `drain_events()` hands the driver what happened, to log.

State (habit 2): two tables hold every rule. `_DISPATCH` says which APDU kind each state serves (anything else
is refused with an exception-response, as a meter does); `TRANSITIONS` says where each outcome leads. States:
idle -> associated, or idle -> authenticating -> associated for HLS (IEC 62056-5-3 9.2.7.4: the association is
only usable once the client answered the challenge), associated -> released, and error once the peer sent
garbage (RemoteProtocolError): the driver must drop the link.

Errors (habit 3): malformed input raises RemoteProtocolError. A well-formed request the meter refuses is
answered on the wire: a rejecting AARE (wrong password, wrong key, unknown mechanism), an exception-response
(no association, deciphering error, replayed invocation counter) or a data-access / action result.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

from hes.simulator.dlms.apdu import ApduTag, ExceptionServiceError, ExceptionStateError
from hes.simulator.dlms.apdu_association import (
    DLMS_VERSION,
    Aare,
    Aarq,
    ApplicationContext,
    AssociationResult,
    AuthenticationMechanism,
    Conformance,
    InitiateError,
    InitiateRequest,
    InitiateResponse,
    ReleaseResponseReason,
    Rlre,
    SourceDiagnostic,
    decode_aarq,
    decode_initiate_request,
    decode_rlrq,
    encode_aare,
    encode_initiate_error,
    encode_initiate_response,
    encode_rlre,
)
from hes.simulator.dlms.apdu_services import (
    AccessSelection,
    ActionResult,
    AttributeReference,
    DataAccessResult,
    GetRequestNext,
    GetRequestWithList,
    SetRequestFirstBlock,
    SetRequestNormal,
    decode_action_request,
    decode_get_request,
    decode_set_request,
    encode_action_response,
    encode_exception_response,
    encode_get_data_results,
    encode_get_response_block,
    encode_get_response_normal,
    encode_get_response_with_list,
    encode_set_response_block,
    encode_set_response_last_block,
    encode_set_response_normal,
)
from hes.simulator.dlms.axdr import MAX_OCTETS, decode_data, encode_data
from hes.simulator.dlms.errors import LocalProtocolError, RemoteProtocolError
from hes.simulator.dlms.security import (
    KEY_LENGTH,
    SYSTEM_TITLE_LENGTH,
    TAG_LENGTH,
    DecipheredApdu,
    InvocationCounter,
    InvocationCounterGuard,
    Keys,
    Protection,
    Wrapping,
    check_hls_gmac,
    cipher_apdu,
    decipher_apdu,
    hls_gmac,
    is_ciphered,
)
from hes.simulator.dlms.values import Data, octets

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

# Smallest max-receive-PDU-size either side may declare. gurux-dlms refuses a server below 64 octets, and 64
# still leaves a ciphered GET-Response-With-Datablock (up to 42 octets of headers) room for data.
MIN_PDU_SIZE = 64

# What the simulated meter offers (0x007A1D): GET/SET/ACTION, selective access, with-list, block transfer for GET
# and SET, attribute 0 with GET and priority management; an IDIS meter's set without the ACTION block transfer
# and event notification it does not implement. general-protection is opt-in (`AssociationConfig.conformance`):
# a client that negotiates it sends general-glo-ciphering instead of service-specific ciphering.
DEFAULT_CONFORMANCE = (
    Conformance.GET
    | Conformance.SET
    | Conformance.ACTION
    | Conformance.SELECTIVE_ACCESS
    | Conformance.MULTIPLE_REFERENCES
    | Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ
    | Conformance.BLOCK_TRANSFER_WITH_SET_OR_WRITE
    | Conformance.PRIORITY_MGMT_SUPPORTED
    | Conformance.ATTRIBUTE0_SUPPORTED_WITH_GET
)

_SUPPORTED_MECHANISMS = frozenset(
    {AuthenticationMechanism.NONE, AuthenticationMechanism.LLS, AuthenticationMechanism.HLS_GMAC}
)
_HLS_CHALLENGE_LENGTHS = range(8, 65)  # IEC 62056-5-3 9.2.2.2.2: challenges of 8 to 64 octets


class ObjectModel(Protocol):
    """The meter's COSEM objects, as the association calls them; `obis` is the 6-octet instance id."""

    def get(
        self, class_id: int, obis: bytes, attribute: int, access: AccessSelection | None
    ) -> Data | DataAccessResult:
        """Read an attribute (with selective access when `access` is given)."""
        ...

    def set(
        self, class_id: int, obis: bytes, attribute: int, access: AccessSelection | None, value: Data
    ) -> DataAccessResult:
        """Write an attribute."""
        ...

    def action(self, class_id: int, obis: bytes, method: int, parameters: Data | None) -> Data | ActionResult | None:
        """Invoke a method: return data on success, None for success without data, or the failing result."""
        ...


@dataclass(frozen=True, slots=True)
class AssociationConfig:
    """Everything one association of the meter needs to know, fixed for its lifetime (one per client SAP)."""

    system_title: bytes
    authentication: AuthenticationMechanism = AuthenticationMechanism.NONE
    lls_password: bytes | None = None
    keys: Keys | None = None  # global unicast encryption key and authentication key
    security_policy: Protection = Protection.NONE  # protection every xDLMS request must carry
    server_max_pdu_size: int = 1024
    conformance: Conformance = DEFAULT_CONFORMANCE
    challenge_length: int = 16
    challenge_source: Callable[[int], bytes] = field(default=secrets.token_bytes, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Plain ints are accepted and stored as the enums the association compares against.
        object.__setattr__(self, "authentication", AuthenticationMechanism(self.authentication))
        object.__setattr__(self, "security_policy", Protection(self.security_policy))
        object.__setattr__(self, "conformance", Conformance(self.conformance))
        if len(self.system_title) != SYSTEM_TITLE_LENGTH:
            raise ValueError(f"system title must be {SYSTEM_TITLE_LENGTH} octets")
        if self.authentication not in _SUPPORTED_MECHANISMS:
            raise ValueError(f"authentication {self.authentication.name} is not supported")
        if self.authentication == AuthenticationMechanism.LLS and not self.lls_password:
            raise ValueError("LLS needs a password")
        needs_keys = self.authentication == AuthenticationMechanism.HLS_GMAC or self.security_policy
        if needs_keys and self.keys is None:
            raise ValueError("HLS-GMAC and a security policy need keys")
        if not MIN_PDU_SIZE <= self.server_max_pdu_size <= 0xFFFF:
            raise ValueError(f"server max PDU size must be {MIN_PDU_SIZE}..65535")
        if self.challenge_length not in _HLS_CHALLENGE_LENGTHS:
            raise ValueError("challenge length must be 8..64 octets")

    def __repr__(self) -> str:
        # No password or key in a log line.
        return f"AssociationConfig(system_title={self.system_title.hex()}, authentication={self.authentication.name})"


@dataclass(slots=True)
class SecurityState:
    """Counters that outlive one association: the meter's own invocation counter and the client's last one."""

    meter_counter: InvocationCounter = field(default_factory=InvocationCounter)
    client_guard: InvocationCounterGuard = field(default_factory=InvocationCounterGuard)


class State(Enum):
    """Association state (IEC 62056-5-3 9.4.4 / Green Book 9.4: the AA state machine of the server)."""

    IDLE = "idle"
    AUTHENTICATING = "authenticating"  # AARE accepted, HLS pass 3/4 (the client's f(StoC)) still due
    ASSOCIATED = "associated"
    RELEASED = "released"
    ERROR = "error"


class Trigger(Enum):
    """Outcomes that move the association."""

    ASSOCIATE = "associate"  # AARQ accepted, no HLS
    ASSOCIATE_HLS = "associate-hls"  # AARQ accepted, challenge sent
    REJECT = "reject"  # AARQ rejected
    AUTHENTICATE = "authenticate"  # the client's f(StoC) verified
    FAIL_AUTHENTICATION = "fail-authentication"
    RELEASE = "release"
    PROTOCOL_ERROR = "protocol-error"  # the peer sent garbage


_ASSOCIABLE = (State.IDLE, State.AUTHENTICATING, State.ASSOCIATED, State.RELEASED)
TRANSITIONS: dict[tuple[State, Trigger], State] = {
    # A new AARQ is served in every live state and replaces the association (a HES that lost the AARE retries).
    **{(state, Trigger.ASSOCIATE): State.ASSOCIATED for state in _ASSOCIABLE},
    **{(state, Trigger.ASSOCIATE_HLS): State.AUTHENTICATING for state in _ASSOCIABLE},
    **{(state, Trigger.REJECT): State.IDLE for state in _ASSOCIABLE},
    (State.AUTHENTICATING, Trigger.AUTHENTICATE): State.ASSOCIATED,
    (State.AUTHENTICATING, Trigger.FAIL_AUTHENTICATION): State.IDLE,
    (State.AUTHENTICATING, Trigger.RELEASE): State.RELEASED,
    (State.ASSOCIATED, Trigger.RELEASE): State.RELEASED,
    **{(state, Trigger.PROTOCOL_ERROR): State.ERROR for state in _ASSOCIABLE},
}


# ---------------------------------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class AssociationEstablished:
    """The association is usable (after the HLS exchange for HLS)."""

    mechanism: AuthenticationMechanism
    client_system_title: bytes | None
    conformance: Conformance
    client_max_pdu_size: int
    ciphered: bool


@dataclass(frozen=True, slots=True)
class AssociationRejected:
    """An AARQ was answered with a rejecting AARE."""

    diagnostic: SourceDiagnostic
    initiate_error: InitiateError | None = None


@dataclass(frozen=True, slots=True)
class AuthenticationFailed:
    """The client's HLS answer f(StoC) did not verify: the association is dropped."""

    mechanism: AuthenticationMechanism


@dataclass(frozen=True, slots=True)
class AssociationReleased:
    """The client released the association (RLRQ)."""


@dataclass(frozen=True, slots=True)
class RequestRefused:
    """A request was answered with an exception-response."""

    reason: str
    state_error: ExceptionStateError
    service_error: ExceptionServiceError


AssociationEvent = (
    AssociationEstablished | AssociationRejected | AuthenticationFailed | AssociationReleased | RequestRefused
)


# Longest value accepted through SET with datablocks: one attribute value, bounded like any A-XDR string.
MAX_LONG_SET_OCTETS = MAX_OCTETS
# The current association object (Association LN, class 15, 0-0:40.0.0.255) and its method 1,
# reply_to_HLS_authentication (IEC 62056-6-2 4.4.4 / Blue Book 4.4.4).
_ASSOCIATION_LN_CLASS = 15
_CURRENT_ASSOCIATION = bytes((0, 0, 40, 0, 0, 255))
_REPLY_TO_HLS_AUTHENTICATION = 1
# Upper bounds of what framing adds around an xDLMS APDU: a GET-Response-With-Datablock header (tag, type,
# invoke id, last-block, block number, raw-data choice, length up to 0x82 nn nn) and a ciphered APDU's
# (tag, length up to 0x82 nn nn, SC, IC, GCM tag; general ciphering adds the system title and its length).
_BLOCK_HEADER = 12
_CIPHER_HEADER = 1 + 3 + 5
_GENERAL_CIPHER_EXTRA = 1 + SYSTEM_TITLE_LENGTH


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


@dataclass(slots=True)
class _Context:
    """What an accepted AARQ established; gone with the association."""

    mechanism: AuthenticationMechanism
    application_context: ApplicationContext
    client_system_title: bytes | None
    keys: Keys | None
    conformance: Conformance
    client_max_pdu_size: int
    server_challenge: bytes = b""
    client_challenge: bytes = b""


@dataclass(slots=True)
class _LongGet:
    """A GET answer being sent block by block (IEC 62056-5-3 9.4.6.4: GET with datablock)."""

    raw: bytes
    offset: int = 0
    block_number: int = 0


@dataclass(slots=True)
class _LongSet:
    """A SET value being received block by block."""

    attribute: AttributeReference
    raw: bytearray
    block_number: int


@dataclass(frozen=True, slots=True)
class _Refusal:
    """Why an AARQ is rejected."""

    diagnostic: SourceDiagnostic
    initiate_error: InitiateError | None = None


_Handler = Callable[["Association", bytes, "DecipheredApdu | None"], bytes]


class Association:
    """One application association of a simulated meter with one client, driven by complete APDUs."""

    def __init__(self, config: AssociationConfig, objects: ObjectModel, security: SecurityState | None = None) -> None:
        self.config = config
        self.objects = objects
        self.security = security if security is not None else SecurityState()
        self.state = State.IDLE
        self._context: _Context | None = None
        self._long_get: _LongGet | None = None
        self._long_set: _LongSet | None = None
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
        self._long_get = None
        self._long_set = None

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

    def _fits(self, response: bytes, protection: DecipheredApdu | None) -> bool:
        assert self._context is not None
        return len(response) + _cipher_overhead(protection) <= self._context.client_max_pdu_size

    # ------------------------------------------------------------------------------------------------ AARQ / RLRQ

    def _on_aarq(self, apdu: bytes, protection: DecipheredApdu | None) -> bytes:
        aarq = decode_aarq(apdu)
        self._reset()
        answer_context = self._answer_context(aarq)
        refusal = self._check_acse(aarq)
        initiate: InitiateRequest | None = None
        initiate_protection: DecipheredApdu | None = None
        if refusal is None:
            opened = self._open_initiate(aarq)
            if isinstance(opened, _Refusal):
                refusal = opened
            else:
                initiate, initiate_protection = opened
                refusal = self._check_initiate(initiate)
        if refusal is not None or initiate is None:
            return self._reject(answer_context, refusal or _Refusal(SourceDiagnostic.NO_REASON_GIVEN))
        return self._accept(aarq, answer_context, initiate, initiate_protection)

    def _answer_context(self, aarq: Aarq) -> ApplicationContext:
        if aarq.application_context in (ApplicationContext.LOGICAL_NAME, ApplicationContext.LOGICAL_NAME_CIPHERED):
            return ApplicationContext(aarq.application_context)
        ciphered = self.config.security_policy or self.config.keys is not None
        return ApplicationContext.LOGICAL_NAME_CIPHERED if ciphered else ApplicationContext.LOGICAL_NAME

    def _check_acse(self, aarq: Aarq) -> _Refusal | None:
        """The ACSE checks of IEC 62056-5-3 9.3.2: context, calling AP title, mechanism, LLS password / CtoS."""
        config = self.config
        if aarq.application_context not in (ApplicationContext.LOGICAL_NAME, ApplicationContext.LOGICAL_NAME_CIPHERED):
            return _Refusal(SourceDiagnostic.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED)
        ciphered = aarq.application_context == ApplicationContext.LOGICAL_NAME_CIPHERED
        if (ciphered and config.keys is None) or (config.security_policy and not ciphered):
            return _Refusal(SourceDiagnostic.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED)
        hls = config.authentication == AuthenticationMechanism.HLS_GMAC
        title = aarq.calling_ap_title
        if (ciphered or hls) and (title is None or len(title) != SYSTEM_TITLE_LENGTH):
            return _Refusal(SourceDiagnostic.CALLING_AP_TITLE_NOT_RECOGNIZED)
        if aarq.mechanism is None:
            if aarq.authentication_requested:
                return _Refusal(SourceDiagnostic.AUTHENTICATION_MECHANISM_NAME_REQUIRED)
            proposed = AuthenticationMechanism.NONE
        elif aarq.mechanism in _SUPPORTED_MECHANISMS:
            proposed = AuthenticationMechanism(aarq.mechanism)
        else:
            return _Refusal(SourceDiagnostic.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED)
        if proposed != config.authentication:
            if proposed is AuthenticationMechanism.NONE:
                return _Refusal(SourceDiagnostic.AUTHENTICATION_REQUIRED)
            return _Refusal(SourceDiagnostic.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED)
        value = aarq.calling_authentication_value
        if proposed is AuthenticationMechanism.LLS:
            assert config.lls_password is not None
            if value is None or not hmac.compare_digest(value, config.lls_password):
                return _Refusal(SourceDiagnostic.AUTHENTICATION_FAILURE)
        if hls and (value is None or len(value) not in _HLS_CHALLENGE_LENGTHS):
            return _Refusal(SourceDiagnostic.AUTHENTICATION_FAILURE)
        return None

    def _open_initiate(self, aarq: Aarq) -> tuple[InitiateRequest, DecipheredApdu | None] | _Refusal:
        """The InitiateRequest of user-information, deciphered when it came as a glo-initiate-request."""
        user_information = aarq.user_information
        if user_information is None:
            return _Refusal(SourceDiagnostic.NO_REASON_GIVEN)
        if user_information[0] in (ApduTag.GLO_INITIATE_REQUEST, ApduTag.GENERAL_GLO_CIPHERING):
            keys, title = self.config.keys, aarq.calling_ap_title
            if aarq.application_context != ApplicationContext.LOGICAL_NAME_CIPHERED or keys is None or title is None:
                return _Refusal(SourceDiagnostic.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED)
            try:
                protection = decipher_apdu(user_information, title, keys)
                self.security.client_guard.accept(protection.invocation_counter)
            except RemoteProtocolError as exc:
                if exc.code is None:
                    raise
                # A wrong key or a replayed counter: the client did not prove it holds the keys.
                return _Refusal(SourceDiagnostic.AUTHENTICATION_FAILURE)
            present = protection.security_control & (Protection.AUTHENTICATED | Protection.ENCRYPTED)
            if self.config.security_policy & ~present:
                return _Refusal(SourceDiagnostic.NO_REASON_GIVEN)
            return decode_initiate_request(protection.apdu), protection
        if self.config.security_policy:
            return _Refusal(SourceDiagnostic.NO_REASON_GIVEN)
        initiate = decode_initiate_request(user_information)
        if initiate.dedicated_key is not None:
            # IEC 62056-5-3 9.2.7.2.4.4: a dedicated key only ever travels ciphered.
            return _Refusal(SourceDiagnostic.NO_REASON_GIVEN)
        return initiate, None

    def _check_initiate(self, initiate: InitiateRequest) -> _Refusal | None:
        """The xDLMS checks of IEC 62056-5-3 9.3.2: version, PDU size, conformance, dedicated key."""
        error: InitiateError | None = None
        if initiate.dlms_version < DLMS_VERSION:
            error = InitiateError.DLMS_VERSION_TOO_LOW
        elif initiate.client_max_receive_pdu_size < MIN_PDU_SIZE:
            error = InitiateError.PDU_SIZE_TOO_SHORT
        elif not initiate.proposed_conformance & self.config.conformance & _ANY_SERVICE:
            error = InitiateError.INCOMPATIBLE_CONFORMANCE
        elif initiate.dedicated_key is not None and len(initiate.dedicated_key) != KEY_LENGTH:
            error = InitiateError.OTHER
        return None if error is None else _Refusal(SourceDiagnostic.NO_REASON_GIVEN, error)

    def _accept(
        self, aarq: Aarq, context_name: ApplicationContext, initiate: InitiateRequest, protection: DecipheredApdu | None
    ) -> bytes:
        config = self.config
        keys = config.keys
        if keys is not None and initiate.dedicated_key is not None:
            keys = Keys(keys.encryption_key, keys.authentication_key, initiate.dedicated_key)
        hls = config.authentication == AuthenticationMechanism.HLS_GMAC
        context = _Context(
            mechanism=config.authentication,
            application_context=context_name,
            client_system_title=aarq.calling_ap_title,
            keys=keys,
            conformance=initiate.proposed_conformance & config.conformance,
            client_max_pdu_size=initiate.client_max_receive_pdu_size,
        )
        self._context = context
        if hls:
            context.server_challenge = config.challenge_source(config.challenge_length)
            context.client_challenge = aarq.calling_authentication_value or b""
        response = InitiateResponse(context.conformance, config.server_max_pdu_size)
        aare = Aare(
            application_context=context_name,
            result=AssociationResult.ACCEPTED,
            # IEC 62056-5-3 9.2.2.2.2: an HLS association is accepted with "authentication-required" until the
            # client has answered the challenge.
            diagnostic=SourceDiagnostic.AUTHENTICATION_REQUIRED if hls else SourceDiagnostic.NULL,
            responding_ap_title=config.system_title if hls or keys is not None else None,
            mechanism=AuthenticationMechanism.HLS_GMAC if hls else None,
            responding_authentication_value=context.server_challenge if hls else None,
            user_information=self._protect(encode_initiate_response(response), protection),
        )
        if hls:
            self._move(Trigger.ASSOCIATE_HLS)
        else:
            self._move(Trigger.ASSOCIATE)
            self._events.append(self._established())
        return encode_aare(aare)

    def _reject(self, context_name: ApplicationContext, refusal: _Refusal) -> bytes:
        error = refusal.initiate_error
        aare = Aare(
            application_context=context_name,
            result=AssociationResult.REJECTED_PERMANENT,
            diagnostic=refusal.diagnostic,
            user_information=encode_initiate_error(error) if error is not None else None,
        )
        self._reset()
        self._move(Trigger.REJECT)
        self._events.append(AssociationRejected(refusal.diagnostic, error))
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
        request = decode_get_request(apdu)
        context = self._context
        assert context is not None
        if isinstance(request, GetRequestNext):
            return self._get_next(request, protection)
        self._long_get = None
        if isinstance(request, GetRequestWithList):
            if not context.conformance & Conformance.MULTIPLE_REFERENCES:
                return self._refuse(
                    "GET with list was not negotiated", service_error=ExceptionServiceError.SERVICE_NOT_SUPPORTED
                )
            references = request.attributes
        else:
            references = (request.attribute,)
        if any(reference.access is not None for reference in references) and not (
            context.conformance & Conformance.SELECTIVE_ACCESS
        ):
            return self._refuse(
                "selective access was not negotiated", service_error=ExceptionServiceError.SERVICE_NOT_SUPPORTED
            )
        results = [self._read(reference) for reference in references]
        if isinstance(request, GetRequestWithList):
            response = encode_get_response_with_list(request.invoke_id, results)
        else:
            response = encode_get_response_normal(request.invoke_id, results[0])
        if self._fits(response, protection):
            return self._protect(response, protection)
        if not context.conformance & Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ:
            return self._refuse(
                "response longer than the client max PDU size", service_error=ExceptionServiceError.PDU_TOO_LONG
            )
        # IEC 62056-5-3 9.4.6.4: the same encoding, cut into blocks the client pulls with GET-Request-Next.
        single = results[0]
        raw = encode_get_data_results(results) if isinstance(request, GetRequestWithList) else _raw_value(single)
        self._long_get = _LongGet(raw)
        return self._next_block(request.invoke_id, protection)

    def _read(self, reference: AttributeReference) -> Data | DataAccessResult:
        return self.objects.get(reference.class_id, reference.instance_id, reference.attribute_id, reference.access)

    def _get_next(self, request: GetRequestNext, protection: DecipheredApdu | None) -> bytes:
        long_get = self._long_get
        if long_get is None:
            response = encode_get_response_block(
                request.invoke_id, True, request.block_number, DataAccessResult.NO_LONG_GET_IN_PROGRESS
            )
            return self._protect(response, protection)
        if request.block_number != long_get.block_number:
            self._long_get = None
            response = encode_get_response_block(
                request.invoke_id, True, request.block_number, DataAccessResult.LONG_GET_ABORTED
            )
            return self._protect(response, protection)
        return self._next_block(request.invoke_id, protection)

    def _next_block(self, invoke_id: int, protection: DecipheredApdu | None) -> bytes:
        long_get = self._long_get
        assert long_get is not None and self._context is not None
        size = self._context.client_max_pdu_size - _BLOCK_HEADER - _cipher_overhead(protection)
        chunk = long_get.raw[long_get.offset : long_get.offset + size]
        long_get.offset += len(chunk)
        long_get.block_number += 1
        last = long_get.offset >= len(long_get.raw)
        if last:
            self._long_get = None
        return self._protect(encode_get_response_block(invoke_id, last, long_get.block_number, chunk), protection)

    def _on_set(self, apdu: bytes, protection: DecipheredApdu | None) -> bytes:
        request = decode_set_request(apdu)
        context = self._context
        assert context is not None
        if isinstance(request, SetRequestNormal):
            self._long_set = None
            if request.attribute.access is not None and not context.conformance & Conformance.SELECTIVE_ACCESS:
                return self._refuse(
                    "selective access was not negotiated", service_error=ExceptionServiceError.SERVICE_NOT_SUPPORTED
                )
            result = self._write(request.attribute, request.value)
            return self._protect(encode_set_response_normal(request.invoke_id, result), protection)
        if not context.conformance & Conformance.BLOCK_TRANSFER_WITH_SET_OR_WRITE:
            return self._refuse(
                "SET with datablock was not negotiated", service_error=ExceptionServiceError.SERVICE_NOT_SUPPORTED
            )
        if isinstance(request, SetRequestFirstBlock):
            if request.block_number != 1:
                return self._end_set(
                    request.invoke_id, DataAccessResult.DATA_BLOCK_NUMBER_INVALID, request.block_number, protection
                )
            self._long_set = _LongSet(request.attribute, bytearray(request.raw_data), 1)
        else:
            long_set = self._long_set
            if long_set is None:
                return self._end_set(
                    request.invoke_id, DataAccessResult.NO_LONG_SET_IN_PROGRESS, request.block_number, protection
                )
            if request.block_number != long_set.block_number + 1:
                return self._end_set(
                    request.invoke_id, DataAccessResult.DATA_BLOCK_NUMBER_INVALID, request.block_number, protection
                )
            long_set.raw += request.raw_data
            long_set.block_number += 1
            if len(long_set.raw) > MAX_LONG_SET_OCTETS:
                return self._end_set(
                    request.invoke_id, DataAccessResult.LONG_SET_ABORTED, request.block_number, protection
                )
        long_set = self._long_set
        assert long_set is not None
        if not request.last_block:
            return self._protect(encode_set_response_block(request.invoke_id, long_set.block_number), protection)
        try:
            value, end = decode_data(bytes(long_set.raw))
        except RemoteProtocolError:
            end, value = -1, None
        if value is None or end != len(long_set.raw):
            result = DataAccessResult.TYPE_UNMATCHED
        else:
            result = self._write(long_set.attribute, value)
        return self._end_set(request.invoke_id, result, long_set.block_number, protection)

    def _end_set(
        self, invoke_id: int, result: DataAccessResult, block_number: int, protection: DecipheredApdu | None
    ) -> bytes:
        self._long_set = None
        return self._protect(encode_set_response_last_block(invoke_id, result, block_number), protection)

    def _write(self, reference: AttributeReference, value: Data) -> DataAccessResult:
        return self.objects.set(
            reference.class_id, reference.instance_id, reference.attribute_id, reference.access, value
        )

    def _on_action(self, apdu: bytes, protection: DecipheredApdu | None) -> bytes:
        request = decode_action_request(apdu)
        method = request.method
        outcome = self.objects.action(method.class_id, method.instance_id, method.method_id, request.parameters)
        if isinstance(outcome, ActionResult):
            response = encode_action_response(request.invoke_id, outcome)
        else:
            response = encode_action_response(request.invoke_id, ActionResult.SUCCESS, outcome)
        if not self._fits(response, protection):
            # ACTION with pblocks is not implemented: no simulated method returns that much.
            response = encode_action_response(request.invoke_id, ActionResult.OTHER_REASON)
        return self._protect(response, protection)


_ANY_SERVICE = Conformance.GET | Conformance.SET | Conformance.ACTION

_DISPATCH: dict[tuple[State, _Kind], _Handler] = {
    **{(state, _Kind.AARQ): Association._on_aarq for state in _ASSOCIABLE},
    (State.AUTHENTICATING, _Kind.RLRQ): Association._on_rlrq,
    (State.AUTHENTICATING, _Kind.ACTION): Association._on_hls_reply,
    (State.ASSOCIATED, _Kind.RLRQ): Association._on_rlrq,
    (State.ASSOCIATED, _Kind.GET): Association._on_get,
    (State.ASSOCIATED, _Kind.SET): Association._on_set,
    (State.ASSOCIATED, _Kind.ACTION): Association._on_action,
}


def _cipher_overhead(protection: DecipheredApdu | None) -> int:
    """Most octets ciphering adds around an APDU protected like `protection`."""
    if protection is None:
        return 0
    overhead = _CIPHER_HEADER
    if protection.security_control & Protection.AUTHENTICATED:
        overhead += TAG_LENGTH
    if protection.wrapping is Wrapping.GENERAL:
        overhead += _GENERAL_CIPHER_EXTRA
    return overhead


def _raw_value(result: Data | DataAccessResult) -> bytes:
    # A result code is two octets: it always fits, so only a value ever goes through block transfer.
    assert isinstance(result, Data)
    return encode_data(result)
