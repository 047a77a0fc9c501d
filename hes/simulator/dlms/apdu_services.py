"""xDLMS data services of the meter side: GET / SET / ACTION requests in, their responses and exception-response out.

Layouts: IEC 62056-5-3 8.5 (ASN.1 of Get-Request, Get-Response, Set-Request, Set-Response, Action-Request,
Action-Response, ExceptionResponse), A-XDR encoded. Values are `Data`; attribute and method references carry
the 6-octet OBIS instance id as bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

from hes.simulator.dlms.apdu import ApduReader, ApduTag, ExceptionServiceError, ExceptionStateError
from hes.simulator.dlms.axdr import MAX_OCTETS, encode_data, encode_length
from hes.simulator.dlms.errors import RemoteProtocolError
from hes.simulator.dlms.values import Data

__all__ = [
    "MAX_LIST_ITEMS",
    "AccessSelection",
    "ActionRequest",
    "ActionResult",
    "AttributeReference",
    "DataAccessResult",
    "GetRequest",
    "GetRequestNext",
    "GetRequestNormal",
    "GetRequestWithList",
    "MethodReference",
    "SetRequest",
    "SetRequestBlock",
    "SetRequestFirstBlock",
    "SetRequestNormal",
    "decode_action_request",
    "decode_get_request",
    "decode_set_request",
    "encode_action_response",
    "encode_exception_response",
    "encode_get_data_results",
    "encode_get_response_block",
    "encode_get_response_normal",
    "encode_get_response_with_list",
    "encode_set_response_block",
    "encode_set_response_last_block",
    "encode_set_response_normal",
]

# Most attribute references in one GET-Request-with-list. The standard sets no bound; gurux's readList sends at
# most 10 per request by default and real meters accept 10-32. 64 is generous and keeps one request's work small.
MAX_LIST_ITEMS = 64
_OBIS_LENGTH = 6


class DataAccessResult(IntEnum):
    """Result of reading or writing one attribute (IEC 62056-5-3 8.5, Data-Access-Result)."""

    SUCCESS = 0
    HARDWARE_FAULT = 1
    TEMPORARY_FAILURE = 2
    READ_WRITE_DENIED = 3
    OBJECT_UNDEFINED = 4
    OBJECT_CLASS_INCONSISTENT = 9
    OBJECT_UNAVAILABLE = 11
    TYPE_UNMATCHED = 12
    SCOPE_OF_ACCESS_VIOLATED = 13
    DATA_BLOCK_UNAVAILABLE = 14
    LONG_GET_ABORTED = 15
    NO_LONG_GET_IN_PROGRESS = 16
    LONG_SET_ABORTED = 17
    NO_LONG_SET_IN_PROGRESS = 18
    DATA_BLOCK_NUMBER_INVALID = 19
    OTHER_REASON = 250


class ActionResult(IntEnum):
    """Result of invoking one method (IEC 62056-5-3 8.5, Action-Result)."""

    SUCCESS = 0
    HARDWARE_FAULT = 1
    TEMPORARY_FAILURE = 2
    READ_WRITE_DENIED = 3
    OBJECT_UNDEFINED = 4
    OBJECT_CLASS_INCONSISTENT = 9
    OBJECT_UNAVAILABLE = 11
    TYPE_UNMATCHED = 12
    SCOPE_OF_ACCESS_VIOLATED = 13
    DATA_BLOCK_UNAVAILABLE = 14
    LONG_ACTION_ABORTED = 15
    NO_LONG_ACTION_IN_PROGRESS = 16
    OTHER_REASON = 250


class _GetType(IntEnum):
    NORMAL = 1
    NEXT = 2
    WITH_LIST = 3


class _SetType(IntEnum):
    NORMAL = 1
    WITH_FIRST_DATABLOCK = 2
    WITH_DATABLOCK = 3


class _SetResponseType(IntEnum):
    NORMAL = 1
    DATABLOCK = 2
    LAST_DATABLOCK = 3


class _ActionType(IntEnum):
    NORMAL = 1


@dataclass(frozen=True, slots=True)
class AccessSelection:
    """Selective access: the access selector and its parameters, both kept as values for the object model."""

    selector: int
    parameters: Data


@dataclass(frozen=True, slots=True)
class AttributeReference:
    """Cosem-Attribute-Descriptor with its optional selective access (IEC 62056-5-3 8.5)."""

    class_id: int
    instance_id: bytes  # the 6-octet OBIS code
    attribute_id: int
    access: AccessSelection | None = None


@dataclass(frozen=True, slots=True)
class MethodReference:
    """Cosem-Method-Descriptor (IEC 62056-5-3 8.5)."""

    class_id: int
    instance_id: bytes
    method_id: int


@dataclass(frozen=True, slots=True)
class GetRequestNormal:
    """Get-Request-Normal: read one attribute."""

    invoke_id: int  # the whole Invoke-Id-And-Priority octet, echoed in the response
    attribute: AttributeReference


@dataclass(frozen=True, slots=True)
class GetRequestNext:
    """Get-Request-Next: the client received `block_number` and asks for the next block."""

    invoke_id: int
    block_number: int


@dataclass(frozen=True, slots=True)
class GetRequestWithList:
    """Get-Request-With-List: read several attributes at once."""

    invoke_id: int
    attributes: tuple[AttributeReference, ...]


@dataclass(frozen=True, slots=True)
class SetRequestNormal:
    """Set-Request-Normal: write one attribute."""

    invoke_id: int
    attribute: AttributeReference
    value: Data


@dataclass(frozen=True, slots=True)
class SetRequestFirstBlock:
    """Set-Request-With-First-Datablock: the first part of a long value (raw A-XDR octets)."""

    invoke_id: int
    attribute: AttributeReference
    last_block: bool
    block_number: int
    raw_data: bytes


@dataclass(frozen=True, slots=True)
class SetRequestBlock:
    """Set-Request-With-Datablock: a following part of a long value."""

    invoke_id: int
    last_block: bool
    block_number: int
    raw_data: bytes


@dataclass(frozen=True, slots=True)
class ActionRequest:
    """Action-Request-Normal: invoke one method with optional parameters."""

    invoke_id: int
    method: MethodReference
    parameters: Data | None


GetRequest = GetRequestNormal | GetRequestNext | GetRequestWithList
SetRequest = SetRequestNormal | SetRequestFirstBlock | SetRequestBlock


# ---------------------------------------------------------------------------------------------------- decoding


def decode_get_request(apdu: bytes) -> GetRequest:
    """Decode a GET-Request (tag 0xC0): normal, next or with-list.

    Raises:
        RemoteProtocolError: another tag, an unsupported request type, truncated, a list past MAX_LIST_ITEMS, or
            trailing octets.
    """
    reader = _open(apdu, ApduTag.GET_REQUEST, "GET-Request")
    kind, invoke_id = reader.u8(), reader.u8()
    request: GetRequest
    if kind == _GetType.NORMAL:
        request = GetRequestNormal(invoke_id, _read_attribute(reader, with_access=True))
    elif kind == _GetType.NEXT:
        request = GetRequestNext(invoke_id, reader.u32())
    elif kind == _GetType.WITH_LIST:
        count = reader.length(MAX_LIST_ITEMS)
        if count == 0:
            raise RemoteProtocolError("GET-Request-With-List of no attribute")
        request = GetRequestWithList(invoke_id, tuple(_read_attribute(reader, with_access=True) for _ in range(count)))
    else:
        raise RemoteProtocolError(f"GET-Request type {kind} is not supported")
    reader.end()
    return request


def decode_set_request(apdu: bytes) -> SetRequest:
    """Decode a SET-Request (tag 0xC1): normal, with-first-datablock or with-datablock.

    Raises:
        RemoteProtocolError: another tag, an unsupported request type (with-list), truncated, or trailing octets.
    """
    reader = _open(apdu, ApduTag.SET_REQUEST, "SET-Request")
    kind, invoke_id = reader.u8(), reader.u8()
    request: SetRequest
    if kind == _SetType.NORMAL:
        request = SetRequestNormal(invoke_id, _read_attribute(reader, with_access=True), reader.data())
    elif kind == _SetType.WITH_FIRST_DATABLOCK:
        attribute = _read_attribute(reader, with_access=True)
        last, number, raw = reader.boolean(), reader.u32(), reader.octet_string(MAX_OCTETS)
        request = SetRequestFirstBlock(invoke_id, attribute, last, number, raw)
    elif kind == _SetType.WITH_DATABLOCK:
        last, number, raw = reader.boolean(), reader.u32(), reader.octet_string(MAX_OCTETS)
        request = SetRequestBlock(invoke_id, last, number, raw)
    else:
        raise RemoteProtocolError(f"SET-Request type {kind} is not supported")
    reader.end()
    return request


def decode_action_request(apdu: bytes) -> ActionRequest:
    """Decode an ACTION-Request-Normal (tag 0xC3).

    Raises:
        RemoteProtocolError: another tag, another request type (block or list forms), truncated, or trailing
            octets.
    """
    reader = _open(apdu, ApduTag.ACTION_REQUEST, "ACTION-Request")
    kind, invoke_id = reader.u8(), reader.u8()
    if kind != _ActionType.NORMAL:
        raise RemoteProtocolError(f"ACTION-Request type {kind} is not supported")
    method = MethodReference(reader.u16(), reader.take(_OBIS_LENGTH), reader.i8())
    parameters = reader.data() if reader.optional() else None
    reader.end()
    return ActionRequest(invoke_id, method, parameters)


def _open(apdu: bytes, tag: int, what: str) -> ApduReader:
    reader = ApduReader(apdu, what)
    if reader.u8() != tag:
        raise RemoteProtocolError(f"not a {what}")
    return reader


def _read_attribute(reader: ApduReader, *, with_access: bool) -> AttributeReference:
    class_id, instance_id, attribute_id = reader.u16(), reader.take(_OBIS_LENGTH), reader.i8()
    access = None
    if with_access and reader.optional():
        access = AccessSelection(reader.u8(), reader.data())
    return AttributeReference(class_id, instance_id, attribute_id, access)


# ---------------------------------------------------------------------------------------------------- encoding

GetDataResult = Data | DataAccessResult


def _get_data_result(result: GetDataResult) -> bytes:
    # Get-Data-Result ::= CHOICE { data [0] Data, data-access-result [1] Data-Access-Result }
    if isinstance(result, DataAccessResult):
        return bytes((1, result))
    return b"\x00" + encode_data(result)


def encode_get_response_normal(invoke_id: int, result: GetDataResult) -> bytes:
    """Encode a Get-Response-Normal carrying a value or a data-access-result."""
    return bytes((ApduTag.GET_RESPONSE, _GetType.NORMAL, invoke_id)) + _get_data_result(result)


def encode_get_data_results(results: Sequence[GetDataResult]) -> bytes:
    """The SEQUENCE OF Get-Data-Result of a with-list response (also the raw data of its block transfer)."""
    return encode_length(len(results)) + b"".join(_get_data_result(result) for result in results)


def encode_get_response_with_list(invoke_id: int, results: Sequence[GetDataResult]) -> bytes:
    """Encode a Get-Response-With-List."""
    return bytes((ApduTag.GET_RESPONSE, _GetType.WITH_LIST, invoke_id)) + encode_get_data_results(results)


def encode_get_response_block(
    invoke_id: int, last_block: bool, block_number: int, raw: bytes | DataAccessResult
) -> bytes:
    """Encode a Get-Response-With-Datablock: one block of raw data, or the result that ends the transfer."""
    header = bytes((ApduTag.GET_RESPONSE, _GetType.NEXT, invoke_id, int(last_block))) + block_number.to_bytes(4, "big")
    # DataBlock-G result CHOICE { raw-data [0] OCTET STRING, data-access-result [1] Data-Access-Result }
    if isinstance(raw, DataAccessResult):
        return header + bytes((1, raw))
    return header + b"\x00" + encode_length(len(raw)) + raw


def encode_set_response_normal(invoke_id: int, result: DataAccessResult) -> bytes:
    """Encode a Set-Response-Normal."""
    return bytes((ApduTag.SET_RESPONSE, _SetResponseType.NORMAL, invoke_id, result))


def encode_set_response_block(invoke_id: int, block_number: int) -> bytes:
    """Encode a Set-Response-Datablock: block `block_number` received, send the next."""
    return bytes((ApduTag.SET_RESPONSE, _SetResponseType.DATABLOCK, invoke_id)) + block_number.to_bytes(4, "big")


def encode_set_response_last_block(invoke_id: int, result: DataAccessResult, block_number: int) -> bytes:
    """Encode a Set-Response-Last-Datablock: the result of the whole write."""
    header = bytes((ApduTag.SET_RESPONSE, _SetResponseType.LAST_DATABLOCK, invoke_id, result))
    return header + block_number.to_bytes(4, "big")


def encode_action_response(invoke_id: int, result: ActionResult, return_value: GetDataResult | None = None) -> bytes:
    """Encode an Action-Response-Normal with its optional return parameters."""
    out = bytes((ApduTag.ACTION_RESPONSE, _ActionType.NORMAL, invoke_id, result))
    if return_value is None:
        return out + b"\x00"
    return out + b"\x01" + _get_data_result(return_value)


def encode_exception_response(
    state_error: ExceptionStateError, service_error: ExceptionServiceError, invocation_counter: int | None = None
) -> bytes:
    """Encode an ExceptionResponse; invocation-counter-error carries the lowest counter the meter would accept."""
    out = bytes((ApduTag.EXCEPTION_RESPONSE, state_error, service_error))
    if service_error is ExceptionServiceError.INVOCATION_COUNTER_ERROR and invocation_counter is not None:
        out += invocation_counter.to_bytes(4, "big")
    return out
