"""Which AARQ the meter accepts: the ACSE and xDLMS checks of IEC 62056-5-3 9.3.2, and the AARE that says so.

`negotiate` decides and `accepting_aare` / `rejecting_aare` build the answer; none of them changes association
state (only the client's invocation counter guard, when the InitiateRequest came ciphered and verified). The
association owns the state: it moves it, ciphers the InitiateResponse and records the events.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from hes.simulator.dlms.apdu import ApduTag
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
    SourceDiagnostic,
    decode_initiate_request,
    encode_initiate_error,
)
from hes.simulator.dlms.association_config import (
    HLS_CHALLENGE_LENGTHS,
    MIN_PDU_SIZE,
    SUPPORTED_MECHANISMS,
    AssociationConfig,
)
from hes.simulator.dlms.errors import RemoteProtocolError
from hes.simulator.dlms.security import (
    KEY_LENGTH,
    SYSTEM_TITLE_LENGTH,
    DecipheredApdu,
    InvocationCounterGuard,
    Keys,
    Protection,
    decipher_apdu,
)

__all__ = ["Acceptance", "AssociationContext", "Refusal", "accepting_aare", "negotiate", "rejecting_aare"]

_ANY_SERVICE = Conformance.GET | Conformance.SET | Conformance.ACTION


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an AARQ is rejected: the AARE's diagnostic and, for an xDLMS problem, the InitiateError it carries."""

    diagnostic: SourceDiagnostic
    initiate_error: InitiateError | None = None


@dataclass(frozen=True, slots=True)
class AssociationContext:
    """What an accepted AARQ established; gone with the association."""

    mechanism: AuthenticationMechanism
    application_context: ApplicationContext
    client_system_title: bytes | None
    keys: Keys | None
    conformance: Conformance
    client_max_pdu_size: int
    server_challenge: bytes = b""  # StoC, HLS only
    client_challenge: bytes = b""  # CtoS, HLS only


@dataclass(frozen=True, slots=True)
class Acceptance:
    """An acceptable AARQ: the association it opens, and how its InitiateRequest was ciphered (None: plain)."""

    context: AssociationContext
    initiate_protection: DecipheredApdu | None


def _answer_context(config: AssociationConfig, aarq: Aarq) -> ApplicationContext:
    """The application-context-name the AARE carries: the AARQ's when it is a logical-name one, else the meter's."""
    if aarq.application_context in (ApplicationContext.LOGICAL_NAME, ApplicationContext.LOGICAL_NAME_CIPHERED):
        return ApplicationContext(aarq.application_context)
    ciphered = config.security_policy or config.keys is not None
    return ApplicationContext.LOGICAL_NAME_CIPHERED if ciphered else ApplicationContext.LOGICAL_NAME


def negotiate(config: AssociationConfig, guard: InvocationCounterGuard, aarq: Aarq) -> Acceptance | Refusal:
    """Check an AARQ against the meter's configuration.

    Args:
        config: the association's configuration.
        guard: the client's invocation counter guard; a ciphered InitiateRequest that verifies advances it, even
            when a later xDLMS check rejects the AARQ.
        aarq: the decoded AARQ.

    Returns:
        The association it opens (with a fresh HLS challenge when the mechanism is HLS-GMAC), or why it is refused.

    Raises:
        RemoteProtocolError: the user-information is not a well-formed (plain or ciphered) InitiateRequest.
    """
    refusal = _check_acse(config, aarq)
    if refusal is not None:
        return refusal
    opened = _open_initiate(config, guard, aarq)
    if isinstance(opened, Refusal):
        return opened
    initiate, protection = opened
    refusal = _check_initiate(config, initiate)
    if refusal is not None:
        return refusal
    keys = config.keys
    if keys is not None and initiate.dedicated_key is not None:
        keys = Keys(keys.encryption_key, keys.authentication_key, initiate.dedicated_key)
    hls = config.authentication == AuthenticationMechanism.HLS_GMAC
    context = AssociationContext(
        mechanism=config.authentication,
        application_context=_answer_context(config, aarq),
        client_system_title=aarq.calling_ap_title,
        keys=keys,
        conformance=initiate.proposed_conformance & config.conformance,
        client_max_pdu_size=initiate.client_max_receive_pdu_size,
        server_challenge=config.challenge_source(config.challenge_length) if hls else b"",
        client_challenge=(aarq.calling_authentication_value or b"") if hls else b"",
    )
    return Acceptance(context, protection)


def accepting_aare(config: AssociationConfig, context: AssociationContext, user_information: bytes) -> Aare:
    """The AARE accepting `context`; `user_information` is the InitiateResponse, ciphered like the request."""
    hls = context.mechanism == AuthenticationMechanism.HLS_GMAC
    return Aare(
        application_context=context.application_context,
        result=AssociationResult.ACCEPTED,
        # IEC 62056-5-3 9.2.2.2.2: an HLS association is accepted with "authentication-required" until the
        # client has answered the challenge.
        diagnostic=SourceDiagnostic.AUTHENTICATION_REQUIRED if hls else SourceDiagnostic.NULL,
        responding_ap_title=config.system_title if hls or context.keys is not None else None,
        mechanism=AuthenticationMechanism.HLS_GMAC if hls else None,
        responding_authentication_value=context.server_challenge if hls else None,
        user_information=user_information,
    )


def rejecting_aare(config: AssociationConfig, aarq: Aarq, refusal: Refusal) -> Aare:
    """The AARE rejecting `aarq`, with the InitiateError as user-information when the xDLMS part was refused."""
    error = refusal.initiate_error
    return Aare(
        application_context=_answer_context(config, aarq),
        result=AssociationResult.REJECTED_PERMANENT,
        diagnostic=refusal.diagnostic,
        user_information=encode_initiate_error(error) if error is not None else None,
    )


def _check_acse(config: AssociationConfig, aarq: Aarq) -> Refusal | None:
    """The ACSE checks of IEC 62056-5-3 9.3.2: context, calling AP title, mechanism, LLS password / CtoS."""
    if aarq.application_context not in (ApplicationContext.LOGICAL_NAME, ApplicationContext.LOGICAL_NAME_CIPHERED):
        return Refusal(SourceDiagnostic.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED)
    ciphered = aarq.application_context == ApplicationContext.LOGICAL_NAME_CIPHERED
    if (ciphered and config.keys is None) or (config.security_policy and not ciphered):
        return Refusal(SourceDiagnostic.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED)
    hls = config.authentication == AuthenticationMechanism.HLS_GMAC
    title = aarq.calling_ap_title
    if (ciphered or hls) and (title is None or len(title) != SYSTEM_TITLE_LENGTH):
        return Refusal(SourceDiagnostic.CALLING_AP_TITLE_NOT_RECOGNIZED)
    if aarq.mechanism is None:
        if aarq.authentication_requested:
            return Refusal(SourceDiagnostic.AUTHENTICATION_MECHANISM_NAME_REQUIRED)
        proposed = AuthenticationMechanism.NONE
    elif aarq.mechanism in SUPPORTED_MECHANISMS:
        proposed = AuthenticationMechanism(aarq.mechanism)
    else:
        return Refusal(SourceDiagnostic.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED)
    if proposed != config.authentication:
        if proposed is AuthenticationMechanism.NONE:
            return Refusal(SourceDiagnostic.AUTHENTICATION_REQUIRED)
        return Refusal(SourceDiagnostic.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED)
    value = aarq.calling_authentication_value
    if proposed is AuthenticationMechanism.LLS:
        assert config.lls_password is not None
        if value is None or not hmac.compare_digest(value, config.lls_password):
            return Refusal(SourceDiagnostic.AUTHENTICATION_FAILURE)
    if hls and (value is None or len(value) not in HLS_CHALLENGE_LENGTHS):
        return Refusal(SourceDiagnostic.AUTHENTICATION_FAILURE)
    return None


def _open_initiate(
    config: AssociationConfig, guard: InvocationCounterGuard, aarq: Aarq
) -> tuple[InitiateRequest, DecipheredApdu | None] | Refusal:
    """The InitiateRequest of user-information, deciphered when it came as a glo-initiate-request."""
    user_information = aarq.user_information
    if user_information is None:
        return Refusal(SourceDiagnostic.NO_REASON_GIVEN)
    if user_information[0] in (ApduTag.GLO_INITIATE_REQUEST, ApduTag.GENERAL_GLO_CIPHERING):
        keys, title = config.keys, aarq.calling_ap_title
        if aarq.application_context != ApplicationContext.LOGICAL_NAME_CIPHERED or keys is None or title is None:
            return Refusal(SourceDiagnostic.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED)
        try:
            protection = decipher_apdu(user_information, title, keys)
            guard.accept(protection.invocation_counter)
        except RemoteProtocolError as exc:
            if exc.code is None:
                raise
            # A wrong key or a replayed counter: the client did not prove it holds the keys.
            return Refusal(SourceDiagnostic.AUTHENTICATION_FAILURE)
        present = protection.security_control & (Protection.AUTHENTICATED | Protection.ENCRYPTED)
        if config.security_policy & ~present:
            return Refusal(SourceDiagnostic.NO_REASON_GIVEN)
        return decode_initiate_request(protection.apdu), protection
    if config.security_policy:
        return Refusal(SourceDiagnostic.NO_REASON_GIVEN)
    initiate = decode_initiate_request(user_information)
    if initiate.dedicated_key is not None:
        # IEC 62056-5-3 9.2.7.2.4.4: a dedicated key only ever travels ciphered.
        return Refusal(SourceDiagnostic.NO_REASON_GIVEN)
    return initiate, None


def _check_initiate(config: AssociationConfig, initiate: InitiateRequest) -> Refusal | None:
    """The xDLMS checks of IEC 62056-5-3 9.3.2: version, PDU size, conformance, dedicated key."""
    error: InitiateError | None = None
    if initiate.dlms_version < DLMS_VERSION:
        error = InitiateError.DLMS_VERSION_TOO_LOW
    elif initiate.client_max_receive_pdu_size < MIN_PDU_SIZE:
        error = InitiateError.PDU_SIZE_TOO_SHORT
    elif not initiate.proposed_conformance & config.conformance & _ANY_SERVICE:
        error = InitiateError.INCOMPATIBLE_CONFORMANCE
    elif initiate.dedicated_key is not None and len(initiate.dedicated_key) != KEY_LENGTH:
        error = InitiateError.OTHER
    return None if error is None else Refusal(SourceDiagnostic.NO_REASON_GIVEN, error)
