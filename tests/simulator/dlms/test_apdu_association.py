"""AARQ / AARE / RLRQ / RLRE and xDLMS Initiate: known vectors, gurux and dlms-cosem encodings, malformed input."""

from __future__ import annotations

import pytest
from dlms_cosem import enumerations as cosem_enums
from dlms_cosem.protocol import acse as cosem_acse
from dlms_cosem.protocol import xdlms as cosem_xdlms
from gurux_dlms import GXDLMSClient
from gurux_dlms.enums import Authentication, InterfaceType

from hes.simulator.dlms.apdu_association import (
    FOREIGN_IDENTIFIER,
    Aare,
    ApplicationContext,
    AssociationResult,
    AuthenticationMechanism,
    Conformance,
    InitiateError,
    InitiateRequest,
    InitiateResponse,
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
from hes.simulator.dlms.errors import RemoteProtocolError


def _apdu(tag: int, *fields: str) -> bytes:
    """An ACSE APDU from hex fields, its length computed (all test APDUs are < 128 octets)."""
    body = b"".join(bytes.fromhex(field) for field in fields)
    return bytes((tag, len(body))) + body


LN = "a109060760857405080101"
# Green Book style HLS-GMAC AARQ: LN with ciphering, client title, mechanism 5, CtoS "K56iVagY", plain initiate.
HLS_AARQ = _apdu(
    0x60,
    "a109060760857405080103",
    "a60a04084d4d4d0000000001",
    "8a020780",
    "8b0760857405080205",
    "ac0a80084b35366956616759",
    "be10040e01000000065f1f040000181fffff",
)
# gurux-dlms 1.0.203 client, LLS with password "12345678" (its aarqRequest output, wrapper header removed).
GURUX_LLS_AARQ = bytes.fromhex(
    "6036a1090607608574050801018a0207808b0760857405080201ac0a80083132333435363738be10040e01000000065f1f0400401e5dffff"
)


def test_decode_green_book_hls_aarq() -> None:
    aarq = decode_aarq(HLS_AARQ)
    assert aarq.application_context == ApplicationContext.LOGICAL_NAME_CIPHERED
    assert aarq.calling_ap_title == bytes.fromhex("4d4d4d0000000001")
    assert aarq.authentication_requested
    assert aarq.mechanism == AuthenticationMechanism.HLS_GMAC
    assert aarq.calling_authentication_value == b"K56iVagY"
    initiate = decode_initiate_request(aarq.user_information or b"")
    assert initiate == InitiateRequest(
        proposed_conformance=Conformance(0x00181F), client_max_receive_pdu_size=0xFFFF, dlms_version=6
    )
    assert Conformance.GET in initiate.proposed_conformance
    assert Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ in initiate.proposed_conformance


def test_decode_gurux_lls_aarq() -> None:
    aarq = decode_aarq(GURUX_LLS_AARQ)
    assert (aarq.application_context, aarq.mechanism) == (ApplicationContext.LOGICAL_NAME, AuthenticationMechanism.LLS)
    assert aarq.calling_authentication_value == b"12345678"
    assert aarq.calling_ap_title is None


def test_decode_live_gurux_aarq_with_small_pdu() -> None:
    client = GXDLMSClient(True, 16, 1, Authentication.NONE, None, InterfaceType.WRAPPER)
    client.maxReceivePDUSize = 256
    aarq = decode_aarq(bytes(client.aarqRequest()[0])[8:])
    assert aarq.mechanism is None and not aarq.authentication_requested
    initiate = decode_initiate_request(aarq.user_information or b"")
    assert initiate.client_max_receive_pdu_size == 256


def test_decode_dlms_cosem_aarq() -> None:
    conformance = cosem_xdlms.Conformance(
        general_protection=True, get=True, set=True, action=True, selective_access=True
    )
    initiate = cosem_xdlms.InitiateRequest(proposed_conformance=conformance, client_max_receive_pdu_size=512)
    request = cosem_acse.ApplicationAssociationRequest(
        user_information=cosem_acse.UserInformation(content=initiate),
        system_title=b"CLI00001",
        authentication=cosem_enums.AuthenticationMechanism.LLS,
        authentication_value=b"secret",
        ciphered=True,
    )
    aarq = decode_aarq(request.to_bytes())
    assert aarq.application_context == ApplicationContext.LOGICAL_NAME_CIPHERED
    assert (aarq.calling_ap_title, aarq.calling_authentication_value) == (b"CLI00001", b"secret")
    decoded = decode_initiate_request(aarq.user_information or b"")
    assert decoded.client_max_receive_pdu_size == 512
    assert decoded.proposed_conformance == (
        Conformance.GENERAL_PROTECTION
        | Conformance.GET
        | Conformance.SET
        | Conformance.ACTION
        | Conformance.SELECTIVE_ACCESS
    )


def test_initiate_request_with_dedicated_key_and_options() -> None:
    raw = bytes.fromhex("01 01 10") + bytes(range(16)) + bytes.fromhex("01 00 01 05 06 5f1f0400 00101d 0400")
    initiate = decode_initiate_request(raw)
    assert initiate.dedicated_key == bytes(range(16))
    assert initiate.response_allowed is False and initiate.proposed_quality_of_service == 5
    assert initiate.client_max_receive_pdu_size == 0x400


def test_short_name_and_foreign_identifiers_decode_for_the_association_to_refuse() -> None:
    short_name = HLS_AARQ.replace(bytes.fromhex("0760857405080103"), bytes.fromhex("0760857405080102"))
    assert decode_aarq(short_name).application_context == ApplicationContext.SHORT_NAME
    foreign = HLS_AARQ.replace(bytes.fromhex("0760857405080205"), bytes.fromhex("0760857405090205"))
    assert decode_aarq(foreign).mechanism == FOREIGN_IDENTIFIER


def test_encode_hls_aare_matches_the_green_book_layout() -> None:
    response = encode_initiate_response(InitiateResponse(Conformance(0x00181D), 0xFFFF))
    assert response == bytes.fromhex("0800065f1f040000181dffff0007")
    aare = encode_aare(
        Aare(
            application_context=ApplicationContext.LOGICAL_NAME_CIPHERED,
            result=AssociationResult.ACCEPTED,
            diagnostic=SourceDiagnostic.AUTHENTICATION_REQUIRED,
            responding_ap_title=bytes.fromhex("4d4d4d0000bc614e"),
            mechanism=AuthenticationMechanism.HLS_GMAC,
            responding_authentication_value=b"P6wRJ21F",
            user_information=response,
        )
    )
    assert aare == _apdu(
        0x61,
        "a109060760857405080103",
        "a203020100",
        "a305a10302010e",
        "a40a04084d4d4d0000bc614e",
        "88020780",
        "890760857405080205",
        "aa0a8008503677524a323146",
        "be10040e0800065f1f040000181dffff0007",
    )


def test_our_aare_parses_in_dlms_cosem() -> None:
    response = encode_initiate_response(InitiateResponse(Conformance.GET | Conformance.SET, 1024))
    aare = encode_aare(
        Aare(
            ApplicationContext.LOGICAL_NAME,
            AssociationResult.ACCEPTED,
            SourceDiagnostic.NULL,
            user_information=response,
        )
    )
    parsed = cosem_acse.ApplicationAssociationResponse.from_bytes(aare)
    assert parsed.result == cosem_enums.AssociationResult.ACCEPTED
    assert parsed.user_information.content.server_max_receive_pdu_size == 1024


def test_rejecting_aare_with_confirmed_service_error() -> None:
    error = encode_initiate_error(InitiateError.PDU_SIZE_TOO_SHORT)
    assert error == bytes.fromhex("0e010603")
    aare = encode_aare(
        Aare(
            ApplicationContext.LOGICAL_NAME,
            AssociationResult.REJECTED_PERMANENT,
            SourceDiagnostic.NO_REASON_GIVEN,
            user_information=error,
        )
    )
    assert aare == _apdu(0x61, LN, "a203020101", "a305a103020101", "be0604040e010603")


def test_release_request_and_response() -> None:
    assert decode_rlrq(bytes.fromhex("6203800100")).reason == 0
    protected = decode_rlrq(_apdu(0x62, "800100", "be0704052103300000"))
    assert protected.user_information == bytes.fromhex("2103300000")
    assert encode_rlre(Rlre()) == bytes.fromhex("6303800100")
    assert encode_rlre(Rlre(reason=None)) == bytes.fromhex("6300")
    assert cosem_acse.ReleaseResponse.from_bytes(encode_rlre(Rlre())).reason == cosem_enums.ReleaseResponseReason.NORMAL


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (bytes.fromhex("6100"), "not an AARQ"),
        (HLS_AARQ + b"\x00", "after the APDU"),
        (bytes.fromhex("6000"), "without application-context-name"),
        (bytes.fromhex("6005 9f0102 0000"), "multi-octet"),
        (_apdu(0x60, "a1020400"), "expected one element"),
        (bytes.fromhex("600d") + bytes.fromhex(LN), "truncated"),
        (_apdu(0x60, LN, "b000"), "unknown field"),
        (_apdu(0x60, LN, "8a0107"), "acse-requirements"),
        (_apdu(0x60, LN, "ac0481023132"), "charstring"),
        (_apdu(0x60, LN, "be020400"), "user-information"),
    ],
)
def test_malformed_aarqs(raw: bytes, message: str) -> None:
    with pytest.raises(RemoteProtocolError, match=message):
        decode_aarq(raw)


def test_an_over_long_authentication_value_is_refused() -> None:
    value = bytes(65)
    field = b"\xac\x43\x80\x41" + value
    body = bytes.fromhex("a109060760857405080101") + field
    with pytest.raises(RemoteProtocolError, match="longer than 64"):
        decode_aarq(b"\x60" + bytes((len(body),)) + body)


@pytest.mark.parametrize(
    "raw",
    [
        bytes.fromhex("08000000065f1f040000181dffff"),  # an InitiateResponse
        bytes.fromhex("0100000006"),  # truncated before the conformance block
        bytes.fromhex("010000000660200400001810ffff"),  # wrong conformance tag
        bytes.fromhex("01000000065f1f0409001810ffff"),  # 9 unused bits
        bytes.fromhex("01000000065f1f040000181dffff00"),  # trailing octet
        bytes.fromhex("0102"),  # usage flag 2
    ],
)
def test_malformed_initiate_requests(raw: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        decode_initiate_request(raw)


def test_malformed_rlrqs() -> None:
    for raw in (bytes.fromhex("630100"), bytes.fromhex("620480020000"), bytes.fromhex("6203810100")):
        with pytest.raises(RemoteProtocolError):
            decode_rlrq(raw)
