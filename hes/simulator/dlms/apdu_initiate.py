"""xDLMS Initiate of the meter side: InitiateRequest in, InitiateResponse or ConfirmedServiceError out.

These are A-XDR (IEC 62056-5-3 8.5), not BER: the AARQ / RLRQ carry them inside their user-information OCTET
STRING (plain, or ciphered as glo-initiate-request), and `apdu_association` re-exports them with the ACSE APDUs.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, IntFlag

from hes.simulator.dlms.apdu import ApduReader, ApduTag
from hes.simulator.dlms.errors import RemoteProtocolError

__all__ = [
    "DLMS_VERSION",
    "VAA_NAME_LN",
    "Conformance",
    "InitiateError",
    "InitiateRequest",
    "InitiateResponse",
    "decode_initiate_request",
    "encode_initiate_error",
    "encode_initiate_response",
]

DLMS_VERSION = 6  # the only version of the xDLMS protocol (IEC 62056-5-3 8.5, InitiateRequest)
VAA_NAME_LN = 0x0007  # the VAA name of logical-name referencing (IEC 62056-5-3 8.5, InitiateResponse)
_MAX_DEDICATED_KEY = 32  # AES-256 keys (suite 2) are the longest a dedicated key gets
_CONFORMANCE_TAG = b"\x5f\x1f"  # [APPLICATION 31] IMPLICIT BIT STRING (SIZE(24)), BER inside A-XDR


class InitiateError(IntEnum):
    """ServiceError initiate [6] of a ConfirmedServiceError (IEC 62056-5-3 8.5)."""

    OTHER = 0
    DLMS_VERSION_TOO_LOW = 1
    INCOMPATIBLE_CONFORMANCE = 2
    PDU_SIZE_TOO_SHORT = 3
    REFUSED_BY_THE_VDE_HANDLER = 4


class Conformance(IntFlag):
    """The xDLMS conformance block (IEC 62056-5-3 8.5 / 7.3.1), as the 24-bit big-endian integer on the wire.

    The standard numbers the bits from the left (bit 0 is the most significant), so its bit n is 1 << (23 - n).
    """

    NONE = 0
    ACTION = 1 << 0  # bit 23
    EVENT_NOTIFICATION = 1 << 1  # bit 22
    SELECTIVE_ACCESS = 1 << 2  # bit 21
    SET = 1 << 3  # bit 20
    GET = 1 << 4  # bit 19
    PARAMETERIZED_ACCESS = 1 << 5  # bit 18
    ACCESS = 1 << 6  # bit 17
    DATA_NOTIFICATION = 1 << 7  # bit 16
    INFORMATION_REPORT = 1 << 8  # bit 15
    MULTIPLE_REFERENCES = 1 << 9  # bit 14
    BLOCK_TRANSFER_WITH_ACTION = 1 << 10  # bit 13
    BLOCK_TRANSFER_WITH_SET_OR_WRITE = 1 << 11  # bit 12
    BLOCK_TRANSFER_WITH_GET_OR_READ = 1 << 12  # bit 11
    ATTRIBUTE0_SUPPORTED_WITH_GET = 1 << 13  # bit 10
    PRIORITY_MGMT_SUPPORTED = 1 << 14  # bit 9
    ATTRIBUTE0_SUPPORTED_WITH_SET = 1 << 15  # bit 8
    DELTA_VALUE_ENCODING = 1 << 17  # bit 6
    GENERAL_BLOCK_TRANSFER = 1 << 20  # bit 3
    GENERAL_PROTECTION = 1 << 22  # bit 1


@dataclass(frozen=True, slots=True)
class InitiateRequest:
    """xDLMS InitiateRequest (IEC 62056-5-3 8.5): what the client proposes for the association."""

    proposed_conformance: Conformance
    client_max_receive_pdu_size: int
    dlms_version: int = DLMS_VERSION
    dedicated_key: bytes | None = None
    response_allowed: bool = True
    proposed_quality_of_service: int | None = None


@dataclass(frozen=True, slots=True)
class InitiateResponse:
    """xDLMS InitiateResponse (IEC 62056-5-3 8.5): what the meter grants."""

    negotiated_conformance: Conformance
    server_max_receive_pdu_size: int
    dlms_version: int = DLMS_VERSION
    vaa_name: int = VAA_NAME_LN


def decode_initiate_request(apdu: bytes) -> InitiateRequest:
    """Decode a plain xDLMS InitiateRequest (tag 0x01).

    Raises:
        RemoteProtocolError: another tag, truncated, a malformed conformance block, or trailing octets.
    """
    reader = ApduReader(apdu, "InitiateRequest")
    if reader.u8() != ApduTag.INITIATE_REQUEST:
        raise RemoteProtocolError("user-information is not an InitiateRequest")
    dedicated_key = reader.octet_string(_MAX_DEDICATED_KEY) if reader.optional() else None
    # response-allowed BOOLEAN DEFAULT TRUE: usage flag 0 means the default.
    response_allowed = reader.boolean() if reader.optional() else True
    quality_of_service = reader.u8() if reader.optional() else None
    dlms_version = reader.u8()
    conformance = _read_conformance(reader)
    max_pdu = reader.u16()
    reader.end()
    return InitiateRequest(
        proposed_conformance=conformance,
        client_max_receive_pdu_size=max_pdu,
        dlms_version=dlms_version,
        dedicated_key=dedicated_key,
        response_allowed=response_allowed,
        proposed_quality_of_service=quality_of_service,
    )


def _read_conformance(reader: ApduReader) -> Conformance:
    if reader.take(2) != _CONFORMANCE_TAG or reader.u8() != 4:
        raise RemoteProtocolError("InitiateRequest: malformed conformance block header")
    unused_bits = reader.u8()
    if unused_bits > 7:
        raise RemoteProtocolError(f"InitiateRequest: {unused_bits} unused bits in the conformance block")
    return Conformance(int.from_bytes(reader.take(3), "big") & 0xFFFFFF)


def encode_initiate_response(response: InitiateResponse) -> bytes:
    """Encode an xDLMS InitiateResponse (tag 0x08); negotiated-quality-of-service is never sent."""
    return (
        bytes((ApduTag.INITIATE_RESPONSE, 0x00, response.dlms_version))
        + _CONFORMANCE_TAG
        + b"\x04\x00"
        + (int(response.negotiated_conformance) & 0xFFFFFF).to_bytes(3, "big")
        + response.server_max_receive_pdu_size.to_bytes(2, "big")
        + response.vaa_name.to_bytes(2, "big")
    )


def encode_initiate_error(error: InitiateError) -> bytes:
    """Encode a ConfirmedServiceError initiateError [1] { initiate [6] error } (IEC 62056-5-3 8.5)."""
    return bytes((ApduTag.CONFIRMED_SERVICE_ERROR, 1, 6, error))
