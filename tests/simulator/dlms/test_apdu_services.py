"""GET / SET / ACTION APDUs: decoding what gurux and dlms-cosem send, encoding what they parse, bad input."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from dlms_cosem import cosem as cosem_objects
from dlms_cosem import enumerations as cosem_enums
from dlms_cosem.protocol import xdlms as cosem_xdlms
from dlms_cosem.protocol.xdlms import selective_access as cosem_selective
from gurux_dlms import GXDLMSClient
from gurux_dlms.enums import Authentication, Conformance, InterfaceType
from gurux_dlms.objects import (
    GXDLMSCaptureObject,
    GXDLMSClock,
    GXDLMSData,
    GXDLMSDisconnectControl,
    GXDLMSProfileGeneric,
    GXDLMSRegister,
)

from hes.simulator.dlms.apdu import ExceptionServiceError, ExceptionStateError
from hes.simulator.dlms.apdu_services import (
    MAX_LIST_ITEMS,
    AccessSelection,
    ActionRequest,
    ActionResult,
    AttributeReference,
    DataAccessResult,
    GetRequestNext,
    GetRequestNormal,
    GetRequestWithList,
    MethodReference,
    SetRequestBlock,
    SetRequestFirstBlock,
    SetRequestNormal,
    decode_action_request,
    decode_get_request,
    decode_set_request,
    encode_action_response,
    encode_exception_response,
    encode_get_response_block,
    encode_get_response_normal,
    encode_get_response_with_list,
    encode_set_response_block,
    encode_set_response_last_block,
    encode_set_response_normal,
)
from hes.simulator.dlms.errors import RemoteProtocolError
from hes.simulator.dlms.values import DataType, double_long_unsigned, integer, octets, unsigned

CLOCK = bytes((0, 0, 1, 0, 0, 255))
ENERGY = bytes((1, 0, 1, 8, 0, 255))


def _gurux() -> GXDLMSClient:
    return GXDLMSClient(True, 16, 1, Authentication.NONE, None, InterfaceType.WRAPPER)


def _apdu(frames: list[bytes]) -> bytes:
    return bytes(frames[0])[8:]  # strip the IEC 62056-47 wrapper header


def test_decode_gurux_get_normal() -> None:
    request = decode_get_request(_apdu(_gurux().read(GXDLMSClock("0.0.1.0.0.255"), 2)))
    assert isinstance(request, GetRequestNormal)
    assert request.attribute == AttributeReference(8, CLOCK, 2)
    assert request.invoke_id == 0xC1


def test_decode_gurux_get_with_list() -> None:
    client = _gurux()
    client.negotiatedConformance |= Conformance.MULTIPLE_REFERENCES
    items = [
        (GXDLMSRegister("1.0.1.8.0.255"), 2),
        (GXDLMSRegister("1.0.1.8.0.255"), 3),
        (GXDLMSData("0.0.96.1.0.255"), 2),
    ]
    request = decode_get_request(_apdu(client.readList(items)[0]))  # a list of messages, one per 10 items
    assert isinstance(request, GetRequestWithList)
    assert [(ref.class_id, ref.attribute_id) for ref in request.attributes] == [(3, 2), (3, 3), (1, 2)]


def test_decode_gurux_profile_read_by_range_keeps_the_selector() -> None:
    profile = GXDLMSProfileGeneric("1.0.99.1.0.255")
    clock = GXDLMSClock("0.0.1.0.0.255")
    profile.captureObjects.append((clock, GXDLMSCaptureObject(2, 0)))
    start, end = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC)
    request = decode_get_request(_apdu(_gurux().readRowsByRange(profile, start, end)))
    assert isinstance(request, GetRequestNormal)
    access = request.attribute.access
    assert access is not None and access.selector == 1
    assert access.parameters.type is DataType.STRUCTURE and len(access.parameters.items) == 4


def test_decode_dlms_cosem_get_requests() -> None:
    attribute = cosem_objects.CosemAttribute(
        cosem_enums.CosemInterface.CLOCK, cosem_objects.Obis(0, 0, 1, 0, 0, 255), 2
    )
    normal = decode_get_request(cosem_xdlms.GetRequestNormal(attribute).to_bytes())
    assert isinstance(normal, GetRequestNormal) and normal.attribute == AttributeReference(8, CLOCK, 2)
    by_range = cosem_selective.RangeDescriptor(
        restricting_object=cosem_selective.CaptureObject(attribute),
        from_value=datetime(2024, 1, 1, tzinfo=UTC),
        to_value=datetime(2024, 1, 2, tzinfo=UTC),
    )
    profile = cosem_objects.CosemAttribute(
        cosem_enums.CosemInterface.PROFILE_GENERIC, cosem_objects.Obis(1, 0, 99, 1, 0, 255), 2
    )
    selective = decode_get_request(cosem_xdlms.GetRequestNormal(profile, access_selection=by_range).to_bytes())
    assert isinstance(selective, GetRequestNormal)
    assert selective.attribute.access is not None and selective.attribute.access.selector == 1
    restricting, start, _end, columns = selective.attribute.access.parameters.items
    assert restricting.items[1] == octets(CLOCK) and start.type is DataType.OCTET_STRING and columns.items == ()
    following = decode_get_request(cosem_xdlms.GetRequestNext(block_number=3).to_bytes())
    assert isinstance(following, GetRequestNext) and following.block_number == 3
    listed = decode_get_request(
        cosem_xdlms.GetRequestWithList(
            cosem_attributes_with_selection=[
                cosem_objects.CosemAttributeWithSelection(attribute, None),
                cosem_objects.CosemAttributeWithSelection(attribute, None),
            ]
        ).to_bytes()
    )
    assert isinstance(listed, GetRequestWithList) and len(listed.attributes) == 2


def test_decode_gurux_set_and_action() -> None:
    client = _gurux()
    data = GXDLMSData("0.0.96.1.0.255")
    data.value = 7
    request = decode_set_request(_apdu(client.write(data, 2)))
    assert isinstance(request, SetRequestNormal)
    assert request.attribute.class_id == 1 and request.value.value == 7
    disconnect = GXDLMSDisconnectControl("0.0.96.3.10.255")
    action = decode_action_request(_apdu(client.method(disconnect, 1, 0, DataType.INTEGER)))
    assert action.method == MethodReference(70, bytes((0, 0, 96, 3, 10, 255)), 1)
    assert action.parameters == integer(0)


def test_decode_set_blocks_and_action_without_parameters() -> None:
    first = decode_set_request(bytes.fromhex("c102c1 0001 0000600100ff 02 00 00 00000001 03 090a41"))
    assert isinstance(first, SetRequestFirstBlock)
    assert (first.last_block, first.block_number, first.raw_data) == (False, 1, bytes.fromhex("090a41"))
    following = decode_set_request(bytes.fromhex("c103c1 01 00000002 02 4243"))
    assert following == SetRequestBlock(0xC1, True, 2, b"BC")
    assert decode_action_request(bytes.fromhex("c301c1 0046 0000600a03ff 02 00")) == ActionRequest(
        0xC1, MethodReference(70, bytes((0, 0, 96, 10, 3, 255)), 2), None
    )


def test_encoded_get_responses_parse_in_dlms_cosem() -> None:
    normal = encode_get_response_normal(0xC1, double_long_unsigned(123456))
    assert normal == bytes.fromhex("c401c1 00 060001e240")
    parsed = cosem_xdlms.GetResponseFactory.from_bytes(normal)
    assert isinstance(parsed, cosem_xdlms.GetResponseNormal)
    error = encode_get_response_normal(0xC1, DataAccessResult.OBJECT_UNDEFINED)
    assert error == bytes.fromhex("c401c10104")
    assert isinstance(cosem_xdlms.GetResponseFactory.from_bytes(error), cosem_xdlms.GetResponseNormalWithError)
    block = encode_get_response_block(0xC1, False, 1, b"\x09\x03ab")
    assert block == bytes.fromhex("c402c1 00 00000001 00 04 09036162")
    assert isinstance(cosem_xdlms.GetResponseFactory.from_bytes(block), cosem_xdlms.GetResponseWithBlock)
    last = encode_get_response_block(0xC1, True, 2, b"c")
    assert isinstance(cosem_xdlms.GetResponseFactory.from_bytes(last), cosem_xdlms.GetResponseLastBlock)
    aborted = encode_get_response_block(0xC1, True, 2, DataAccessResult.LONG_GET_ABORTED)
    assert aborted == bytes.fromhex("c402c1 01 00000002 01 0f")
    listed = encode_get_response_with_list(0xC1, [unsigned(1), DataAccessResult.READ_WRITE_DENIED])
    assert listed == bytes.fromhex("c403c1 02 001101 0103")
    assert isinstance(cosem_xdlms.GetResponseFactory.from_bytes(listed), cosem_xdlms.GetResponseWithList)


def test_encoded_set_action_and_exception_responses() -> None:
    assert encode_set_response_normal(0xC1, DataAccessResult.SUCCESS) == bytes.fromhex("c501c100")
    assert isinstance(
        cosem_xdlms.SetResponseFactory.from_bytes(bytes.fromhex("c501c100")), cosem_xdlms.SetResponseNormal
    )
    assert encode_set_response_block(0xC1, 3) == bytes.fromhex("c502c100000003")
    assert encode_set_response_last_block(0xC1, DataAccessResult.TYPE_UNMATCHED, 4) == bytes.fromhex("c503c10c00000004")
    assert encode_action_response(0xC1, ActionResult.SUCCESS) == bytes.fromhex("c701c10000")
    with_data = encode_action_response(0xC1, ActionResult.SUCCESS, octets(b"\x01"))
    assert with_data == bytes.fromhex("c701c100 01 00 090101")
    assert isinstance(cosem_xdlms.ActionResponseFactory.from_bytes(with_data), cosem_xdlms.ActionResponseNormalWithData)
    assert encode_action_response(0xC1, ActionResult.OBJECT_UNAVAILABLE) == bytes.fromhex("c701c10b00")
    refused = encode_exception_response(
        ExceptionStateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.OPERATION_NOT_POSSIBLE
    )
    assert refused == bytes.fromhex("d80101")
    assert (
        cosem_xdlms.ExceptionResponse.from_bytes(refused).state_error == cosem_enums.StateException.SERVICE_NOT_ALLOWED
    )
    counter = encode_exception_response(
        ExceptionStateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.INVOCATION_COUNTER_ERROR, 0x10
    )
    assert counter == bytes.fromhex("d8010600000010")


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        bytes.fromhex("c0"),
        bytes.fromhex("c4 01 c1 00"),  # a response, not a request
        bytes.fromhex("c0 09 c1"),  # unknown request type
        bytes.fromhex("c0 01 c1 0008 0000010000"),  # truncated OBIS
        bytes.fromhex("c0 01 c1 0008 0000010000ff 02 00 00"),  # trailing octet
        bytes.fromhex("c0 01 c1 0008 0000010000ff 02 02"),  # usage flag 2
        bytes.fromhex("c0 01 c1 0008 0000010000ff 02 01 01 63"),  # bad selective access parameters
        bytes.fromhex("c0 02 c1 000000"),  # truncated block number
        bytes.fromhex("c0 03 c1 00"),  # empty list
        bytes.fromhex("c0 03 c1") + bytes((MAX_LIST_ITEMS + 1,)),  # list past the limit
        bytes.fromhex("c0 03 c1 02 0008 0000010000ff 02 00"),  # list shorter than its count
    ],
)
def test_malformed_get_requests(raw: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        decode_get_request(raw)


@pytest.mark.parametrize(
    "raw",
    [
        bytes.fromhex("c1 01 c1 0001 0000600100ff 02 00"),  # no value
        bytes.fromhex("c1 04 c1"),  # with-list: not supported
        bytes.fromhex("c1 03 c1 01 00000002 05 4243"),  # raw data shorter than its length
    ],
)
def test_malformed_set_requests(raw: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        decode_set_request(raw)


@pytest.mark.parametrize(
    "raw",
    [
        bytes.fromhex("c3 02 c1 00000001"),  # next-pblock: not supported
        bytes.fromhex("c3 01 c1 0046 0000600a03ff 01"),  # no presence flag
        bytes.fromhex("c3 01 c1 0046 0000600a03ff 01 01"),  # parameters announced, missing
    ],
)
def test_malformed_action_requests(raw: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        decode_action_request(raw)


def test_access_selection_is_kept_as_values() -> None:
    raw = bytes.fromhex("c0 01 c1 0007 0100630100ff 02 01 02 0204 0600000001 0600000005 120001 120000")
    request = decode_get_request(raw)
    assert isinstance(request, GetRequestNormal)
    assert request.attribute.access == AccessSelection(
        2,
        request.attribute.access.parameters if request.attribute.access else octets(b""),
    )
    assert request.attribute.access is not None
    assert [item.value for item in request.attribute.access.parameters.items] == [1, 5, 1, 0]
