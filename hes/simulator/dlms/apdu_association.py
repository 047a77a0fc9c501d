"""Association APDUs of the meter side: AARQ in / AARE out, RLRQ in / RLRE out, xDLMS Initiate and its errors.

ACSE APDUs are BER (IEC 62056-5-3 8.2, ISO/IEC 8650-1); the xDLMS InitiateRequest / InitiateResponse /
ConfirmedServiceError they carry in user-information are A-XDR inside an OCTET STRING (IEC 62056-5-3 8.5):
they live in `apdu_initiate` and are re-exported here, so one import serves an association.
Only logical-name referencing is served: a short-name application context is refused by the association.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from hes.simulator.dlms.apdu import ApduTag
from hes.simulator.dlms.apdu_initiate import (
    DLMS_VERSION,
    VAA_NAME_LN,
    Conformance,
    InitiateError,
    InitiateRequest,
    InitiateResponse,
    decode_initiate_request,
    encode_initiate_error,
    encode_initiate_response,
)
from hes.simulator.dlms.ber import encode_bit_string, encode_integer, encode_tlv, iter_tlvs, read_single, read_tlv
from hes.simulator.dlms.errors import RemoteProtocolError

__all__ = [
    "DLMS_VERSION",
    "FOREIGN_IDENTIFIER",
    "MAX_AUTHENTICATION_VALUE",
    "VAA_NAME_LN",
    "Aare",
    "Aarq",
    "ApplicationContext",
    "AssociationResult",
    "AuthenticationMechanism",
    "Conformance",
    "InitiateError",
    "InitiateRequest",
    "InitiateResponse",
    "ReleaseRequestReason",
    "ReleaseResponseReason",
    "Rlre",
    "Rlrq",
    "SourceDiagnostic",
    "decode_aarq",
    "decode_initiate_request",
    "decode_rlrq",
    "encode_aare",
    "encode_initiate_error",
    "encode_initiate_response",
    "encode_rlre",
]

# Longest calling-authentication-value accepted: an LLS password or an HLS challenge; the standard allows
# challenges of 8 to 64 octets (IEC 62056-5-3 9.2.2.2.2) and passwords are shorter.
MAX_AUTHENTICATION_VALUE = 64
# application_context / mechanism of an AARQ whose identifier is well formed but not a DLMS UA one.
FOREIGN_IDENTIFIER = -1
_MAX_USER_INFORMATION = 512  # an InitiateRequest is <= ~60 octets ciphered; room for vendor padding

# {joint-iso-ccitt(2) country(16) country-name(756) identified-organization(5) DLMS-UA(8)} prefix, BER-encoded.
_DLMS_UA_OID = bytes((0x60, 0x85, 0x74, 0x05, 0x08))
_CONTEXT_ARC = 1  # application-context-name (IEC 62056-5-3 9.4.2.2.2)
_MECHANISM_ARC = 2  # mechanism-name (IEC 62056-5-3 9.4.2.2.3)
_ACSE_AUTHENTICATION = 0x80  # acse-requirements BIT STRING {authentication(0)}: bit 0 set
_AUTH_VALUE_CHARSTRING = 0x80  # Authentication-value CHOICE charstring [0] IMPLICIT GraphicString

# ACSE field tags (BER: context class, constructed where the type is a CHOICE or tagged explicitly).
_TAG_PROTOCOL_VERSION = 0x80
_TAG_CONTEXT_NAME = 0xA1
_TAG_RESULT = 0xA2
_TAG_RESULT_SOURCE = 0xA3
_TAG_RESPONDING_AP_TITLE = 0xA4
_TAG_CALLING_AP_TITLE = 0xA6
_TAG_CALLING_AE_INVOCATION_ID = 0xA9
_TAG_SENDER_ACSE_REQUIREMENTS = 0x8A
_TAG_RESPONDER_ACSE_REQUIREMENTS = 0x88
_TAG_MECHANISM_NAME_AARQ = 0x8B
_TAG_MECHANISM_NAME_AARE = 0x89
_TAG_CALLING_AUTH_VALUE = 0xAC
_TAG_RESPONDING_AUTH_VALUE = 0xAA
_TAG_USER_INFORMATION = 0xBE
_TAG_RELEASE_REASON = 0x80
# AARQ fields the ASN.1 allows and DLMS does not use (called-AP-title .. calling-AP-invocation-id,
# implementation-information): skipped.
_IGNORED_AARQ_TAGS = frozenset({0xA2, 0xA3, 0xA4, 0xA5, 0xA7, 0xA8, 0xBD})
_OCTET_STRING = 0x04
_INTEGER = 0x02
_OBJECT_IDENTIFIER = 0x06


class ApplicationContext(IntEnum):
    """The last arc of the application-context-name (IEC 62056-5-3 9.4.2.2.2)."""

    LOGICAL_NAME = 1
    SHORT_NAME = 2
    LOGICAL_NAME_CIPHERED = 3
    SHORT_NAME_CIPHERED = 4


class AuthenticationMechanism(IntEnum):
    """The last arc of the mechanism-name (IEC 62056-5-3 9.4.2.2.3)."""

    NONE = 0
    LLS = 1
    HLS = 2
    HLS_MD5 = 3
    HLS_SHA1 = 4
    HLS_GMAC = 5
    HLS_SHA256 = 6
    HLS_ECDSA = 7


class AssociationResult(IntEnum):
    """AARE result (ISO/IEC 8650-1 Associate-result)."""

    ACCEPTED = 0
    REJECTED_PERMANENT = 1
    REJECTED_TRANSIENT = 2


class SourceDiagnostic(IntEnum):
    """AARE result-source-diagnostic, acse-service-user (ISO/IEC 8650-1; IEC 62056-5-3 9.3.2)."""

    NULL = 0
    NO_REASON_GIVEN = 1
    APPLICATION_CONTEXT_NAME_NOT_SUPPORTED = 2
    CALLING_AP_TITLE_NOT_RECOGNIZED = 3
    AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED = 11
    AUTHENTICATION_MECHANISM_NAME_REQUIRED = 12
    AUTHENTICATION_FAILURE = 13
    AUTHENTICATION_REQUIRED = 14


class ReleaseRequestReason(IntEnum):
    """RLRQ reason (ISO/IEC 8650-1 Release-request-reason)."""

    NORMAL = 0
    URGENT = 1
    USER_DEFINED = 30


class ReleaseResponseReason(IntEnum):
    """RLRE reason (ISO/IEC 8650-1 Release-response-reason)."""

    NORMAL = 0
    NOT_FINISHED = 1
    USER_DEFINED = 30


@dataclass(frozen=True, slots=True)
class Aarq:
    """A decoded AARQ: the fields DLMS uses (IEC 62056-5-3 9.3.2, table "AARQ fields").

    `user_information` is the raw xDLMS APDU it carries (an InitiateRequest, plain or ciphered), or None.
    `application_context` and `mechanism` are the last arcs of their object identifiers (FOREIGN_IDENTIFIER
    for an identifier outside the DLMS UA arcs); `mechanism` is None when absent.
    """

    application_context: int
    calling_ap_title: bytes | None = None
    authentication_requested: bool = False
    mechanism: int | None = None
    calling_authentication_value: bytes | None = None
    user_information: bytes | None = None


@dataclass(frozen=True, slots=True)
class Aare:
    """An AARE to encode (IEC 62056-5-3 9.3.2, table "AARE fields")."""

    application_context: ApplicationContext
    result: AssociationResult
    diagnostic: SourceDiagnostic
    responding_ap_title: bytes | None = None
    mechanism: AuthenticationMechanism | None = None  # sent with responder-acse-requirements (HLS)
    responding_authentication_value: bytes | None = None  # StoC for HLS
    user_information: bytes | None = None  # InitiateResponse, ciphered or not, or a ConfirmedServiceError


@dataclass(frozen=True, slots=True)
class Rlrq:
    """A decoded RLRQ; `user_information` holds a (possibly ciphered) InitiateRequest when protected."""

    reason: int | None = None
    user_information: bytes | None = None


@dataclass(frozen=True, slots=True)
class Rlre:
    """An RLRE to encode."""

    reason: ReleaseResponseReason | None = ReleaseResponseReason.NORMAL
    user_information: bytes | None = None


# ---------------------------------------------------------------------------------------------------- AARQ / AARE


def decode_aarq(apdu: bytes) -> Aarq:
    """Decode an AARQ (tag 0x60).

    Semantics (which context or mechanism is acceptable, is the password right) are the association's: a
    well-formed AARQ the meter cannot accept decodes fine and is answered with a rejecting AARE.

    Raises:
        RemoteProtocolError: not an AARQ, malformed BER, a field of the wrong shape, an unknown field, or
            octets after the AARQ.
    """
    body = _read_outer(apdu, ApduTag.AARQ, "AARQ")
    context: int | None = None
    authentication_requested = False
    calling_ap_title = mechanism = auth_value = user_information = None
    for tlv in iter_tlvs(body):
        if tlv.tag == _TAG_CONTEXT_NAME:
            context = _read_dlms_oid(read_single(tlv.value, _OBJECT_IDENTIFIER, "context-name"), _CONTEXT_ARC)
        elif tlv.tag == _TAG_CALLING_AP_TITLE:
            calling_ap_title = read_single(tlv.value, _OCTET_STRING, "calling-AP-title")
        elif tlv.tag == _TAG_SENDER_ACSE_REQUIREMENTS:
            authentication_requested = _read_acse_requirements(tlv.value)
        elif tlv.tag == _TAG_MECHANISM_NAME_AARQ:
            mechanism = _read_dlms_oid(tlv.value, _MECHANISM_ARC)
        elif tlv.tag == _TAG_CALLING_AUTH_VALUE:
            auth_value = _read_authentication_value(tlv.value)
        elif tlv.tag == _TAG_USER_INFORMATION:
            user_information = _read_user_information(tlv.value)
        elif tlv.tag == _TAG_CALLING_AE_INVOCATION_ID:
            read_single(tlv.value, _INTEGER, "calling-AE-invocation-id")  # a user id (Blue Book 4.4.2): unused
        elif tlv.tag != _TAG_PROTOCOL_VERSION and tlv.tag not in _IGNORED_AARQ_TAGS:
            raise RemoteProtocolError(f"AARQ: unknown field tag 0x{tlv.tag:02X}")
    if context is None:
        raise RemoteProtocolError("AARQ without application-context-name")
    return Aarq(context, calling_ap_title, authentication_requested, mechanism, auth_value, user_information)


def encode_aare(aare: Aare) -> bytes:
    """Encode an AARE (tag 0x61) in the field order of ISO/IEC 8650-1."""
    out = bytearray()
    out += encode_tlv(_TAG_CONTEXT_NAME, encode_tlv(_OBJECT_IDENTIFIER, _oid(_CONTEXT_ARC, aare.application_context)))
    out += encode_tlv(_TAG_RESULT, encode_integer(_INTEGER, aare.result))
    # result-source-diagnostic: acse-service-user [1] INTEGER.
    out += encode_tlv(_TAG_RESULT_SOURCE, encode_tlv(0xA1, encode_integer(_INTEGER, aare.diagnostic)))
    if aare.responding_ap_title is not None:
        out += encode_tlv(_TAG_RESPONDING_AP_TITLE, encode_tlv(_OCTET_STRING, aare.responding_ap_title))
    if aare.mechanism is not None:
        out += encode_bit_string(_TAG_RESPONDER_ACSE_REQUIREMENTS, 1, 1)
        out += encode_tlv(_TAG_MECHANISM_NAME_AARE, _oid(_MECHANISM_ARC, aare.mechanism))
    if aare.responding_authentication_value is not None:
        value = encode_tlv(_AUTH_VALUE_CHARSTRING, aare.responding_authentication_value)
        out += encode_tlv(_TAG_RESPONDING_AUTH_VALUE, value)
    if aare.user_information is not None:
        out += encode_tlv(_TAG_USER_INFORMATION, encode_tlv(_OCTET_STRING, aare.user_information))
    return encode_tlv(ApduTag.AARE, bytes(out))


# ---------------------------------------------------------------------------------------------------- RLRQ / RLRE


def decode_rlrq(apdu: bytes) -> Rlrq:
    """Decode an RLRQ (tag 0x62).

    Raises:
        RemoteProtocolError: not an RLRQ, malformed BER, an unknown field or octets after it.
    """
    body = _read_outer(apdu, ApduTag.RLRQ, "RLRQ")
    reason: int | None = None
    user_information: bytes | None = None
    for tlv in iter_tlvs(body):
        if tlv.tag == _TAG_RELEASE_REASON:
            if len(tlv.value) != 1:
                raise RemoteProtocolError("RLRQ: reason is not one octet")
            reason = tlv.value[0]
        elif tlv.tag == _TAG_USER_INFORMATION:
            user_information = _read_user_information(tlv.value)
        else:
            raise RemoteProtocolError(f"RLRQ: unknown field tag 0x{tlv.tag:02X}")
    return Rlrq(reason, user_information)


def encode_rlre(rlre: Rlre) -> bytes:
    """Encode an RLRE (tag 0x63)."""
    out = bytearray()
    if rlre.reason is not None:
        out += encode_tlv(_TAG_RELEASE_REASON, bytes((rlre.reason,)))
    if rlre.user_information is not None:
        out += encode_tlv(_TAG_USER_INFORMATION, encode_tlv(_OCTET_STRING, rlre.user_information))
    return encode_tlv(ApduTag.RLRE, bytes(out))


# ---------------------------------------------------------------------------------------------------- helpers


def _read_outer(apdu: bytes, tag: int, what: str) -> bytes:
    outer, end = read_tlv(apdu, 0)
    if outer.tag != tag:
        raise RemoteProtocolError(f"not an {what}: tag 0x{outer.tag:02X}")
    if end != len(apdu):
        raise RemoteProtocolError(f"{what}: {len(apdu) - end} octets after the APDU")
    return outer.value


def _oid(arc: int, last: int) -> bytes:
    """The content octets of the OBJECT IDENTIFIER {DLMS-UA arc last}."""
    return _DLMS_UA_OID + bytes((arc, last))


def _read_dlms_oid(raw: bytes, arc: int) -> int:
    """The last arc of a DLMS UA identifier under `arc`; FOREIGN_IDENTIFIER for any other identifier."""
    if len(raw) != len(_DLMS_UA_OID) + 2 or not raw.startswith(_DLMS_UA_OID) or raw[-2] != arc:
        return FOREIGN_IDENTIFIER
    return raw[-1]


def _read_acse_requirements(raw: bytes) -> bool:
    # BIT STRING: unused-bits octet, then the bits; DLMS sends 07 80 (only "authentication").
    if not 1 <= len(raw) <= 2 or raw[0] > 7 or (len(raw) == 1 and raw[0] != 0):
        raise RemoteProtocolError("AARQ: malformed sender-acse-requirements")
    return len(raw) == 2 and bool(raw[1] & _ACSE_AUTHENTICATION)


def _read_authentication_value(raw: bytes) -> bytes:
    tlv, end = read_tlv(raw, 0)
    if tlv.tag != _AUTH_VALUE_CHARSTRING or end != len(raw):
        raise RemoteProtocolError("AARQ: calling-authentication-value is not a charstring")
    if len(tlv.value) > MAX_AUTHENTICATION_VALUE:
        raise RemoteProtocolError(f"AARQ: authentication value longer than {MAX_AUTHENTICATION_VALUE} octets")
    return tlv.value


def _read_user_information(raw: bytes) -> bytes:
    value = read_single(raw, _OCTET_STRING, "user-information")
    if not value or len(value) > _MAX_USER_INFORMATION:
        raise RemoteProtocolError(f"user-information of {len(value)} octets")
    return value
