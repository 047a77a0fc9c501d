"""GET, SET and ACTION of one established association, with the state of a GET or SET sent in blocks.

The association owns one `AssociationServices` per accepted AARQ and drops it with the association, so a
block transfer never outlives it. The services hold no keys: each returns the plain response APDU, which the
association ciphers the way the request came, or a `RequestRefused` it answers with an exception-response.
"""

from __future__ import annotations

from dataclasses import dataclass

from hes.simulator.dlms.apdu import ExceptionServiceError, ExceptionStateError
from hes.simulator.dlms.apdu_association import Conformance
from hes.simulator.dlms.apdu_services import (
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
    encode_get_data_results,
    encode_get_response_block,
    encode_get_response_normal,
    encode_get_response_with_list,
    encode_set_response_block,
    encode_set_response_last_block,
    encode_set_response_normal,
)
from hes.simulator.dlms.association_config import ObjectModel
from hes.simulator.dlms.association_events import RequestRefused
from hes.simulator.dlms.axdr import MAX_OCTETS, decode_data, encode_data
from hes.simulator.dlms.errors import RemoteProtocolError
from hes.simulator.dlms.security import SYSTEM_TITLE_LENGTH, TAG_LENGTH, DecipheredApdu, Protection, Wrapping
from hes.simulator.dlms.values import Data

__all__ = ["MAX_LONG_SET_OCTETS", "AssociationServices", "Outcome"]

# Longest value accepted through SET with datablocks: one attribute value, bounded like any A-XDR string.
MAX_LONG_SET_OCTETS = MAX_OCTETS
# Upper bounds of what framing adds around an xDLMS APDU: a GET-Response-With-Datablock header (tag, type,
# invoke id, last-block, block number, raw-data choice, length up to 0x82 nn nn) and a ciphered APDU's
# (tag, length up to 0x82 nn nn, SC, IC, GCM tag; general ciphering adds the system title and its length).
_BLOCK_HEADER = 12
_CIPHER_HEADER = 1 + 3 + 5
_GENERAL_CIPHER_EXTRA = 1 + SYSTEM_TITLE_LENGTH

# What a service answers: the plain response APDU, or why it is refused.
Outcome = bytes | RequestRefused


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


class AssociationServices:
    """The xDLMS services of one association: what was negotiated, and the GET or SET in blocks, if any.

    Each method takes a request APDU of its service (already deciphered) and how it was protected (None: plain),
    and returns the plain response APDU or the refusal to answer with an exception-response.
    Raises RemoteProtocolError for a malformed request.
    """

    def __init__(self, objects: ObjectModel, conformance: Conformance, client_max_pdu_size: int) -> None:
        self.objects = objects
        self.conformance = conformance
        self.client_max_pdu_size = client_max_pdu_size
        self._long_get: _LongGet | None = None
        self._long_set: _LongSet | None = None

    def get(self, apdu: bytes, protection: DecipheredApdu | None) -> Outcome:
        """Serve a GET-Request (normal, with list, or next block)."""
        request = decode_get_request(apdu)
        if isinstance(request, GetRequestNext):
            return self._get_next(request, protection)
        self._long_get = None
        if isinstance(request, GetRequestWithList):
            if not self.conformance & Conformance.MULTIPLE_REFERENCES:
                return _refused("GET with list was not negotiated", ExceptionServiceError.SERVICE_NOT_SUPPORTED)
            references = request.attributes
        else:
            references = (request.attribute,)
        if any(reference.access is not None for reference in references) and not (
            self.conformance & Conformance.SELECTIVE_ACCESS
        ):
            return _refused("selective access was not negotiated", ExceptionServiceError.SERVICE_NOT_SUPPORTED)
        results = [self._read(reference) for reference in references]
        if isinstance(request, GetRequestWithList):
            response = encode_get_response_with_list(request.invoke_id, results)
        else:
            response = encode_get_response_normal(request.invoke_id, results[0])
        if self._fits(response, protection):
            return response
        if not self.conformance & Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ:
            return _refused("response longer than the client max PDU size", ExceptionServiceError.PDU_TOO_LONG)
        # IEC 62056-5-3 9.4.6.4: the same encoding, cut into blocks the client pulls with GET-Request-Next.
        single = results[0]
        raw = encode_get_data_results(results) if isinstance(request, GetRequestWithList) else _raw_value(single)
        self._long_get = _LongGet(raw)
        return self._next_block(request.invoke_id, protection)

    def set(self, apdu: bytes, protection: DecipheredApdu | None) -> Outcome:
        """Serve a SET-Request (normal, or with datablock)."""
        request = decode_set_request(apdu)
        if isinstance(request, SetRequestNormal):
            self._long_set = None
            if request.attribute.access is not None and not self.conformance & Conformance.SELECTIVE_ACCESS:
                return _refused("selective access was not negotiated", ExceptionServiceError.SERVICE_NOT_SUPPORTED)
            result = self._write(request.attribute, request.value)
            return encode_set_response_normal(request.invoke_id, result)
        if not self.conformance & Conformance.BLOCK_TRANSFER_WITH_SET_OR_WRITE:
            return _refused("SET with datablock was not negotiated", ExceptionServiceError.SERVICE_NOT_SUPPORTED)
        if isinstance(request, SetRequestFirstBlock):
            if request.block_number != 1:
                return self._end_set(
                    request.invoke_id, DataAccessResult.DATA_BLOCK_NUMBER_INVALID, request.block_number
                )
            self._long_set = _LongSet(request.attribute, bytearray(request.raw_data), 1)
        else:
            long_set = self._long_set
            if long_set is None:
                return self._end_set(request.invoke_id, DataAccessResult.NO_LONG_SET_IN_PROGRESS, request.block_number)
            if request.block_number != long_set.block_number + 1:
                return self._end_set(
                    request.invoke_id, DataAccessResult.DATA_BLOCK_NUMBER_INVALID, request.block_number
                )
            long_set.raw += request.raw_data
            long_set.block_number += 1
            if len(long_set.raw) > MAX_LONG_SET_OCTETS:
                return self._end_set(request.invoke_id, DataAccessResult.LONG_SET_ABORTED, request.block_number)
        long_set = self._long_set
        assert long_set is not None
        if not request.last_block:
            return encode_set_response_block(request.invoke_id, long_set.block_number)
        try:
            value, end = decode_data(bytes(long_set.raw))
        except RemoteProtocolError:
            end, value = -1, None
        if value is None or end != len(long_set.raw):
            result = DataAccessResult.TYPE_UNMATCHED
        else:
            result = self._write(long_set.attribute, value)
        return self._end_set(request.invoke_id, result, long_set.block_number)

    def action(self, apdu: bytes, protection: DecipheredApdu | None) -> Outcome:
        """Serve an ACTION-Request (normal)."""
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
        return response

    # ------------------------------------------------------------------------------------------------ helpers

    def _read(self, reference: AttributeReference) -> Data | DataAccessResult:
        return self.objects.get(reference.class_id, reference.instance_id, reference.attribute_id, reference.access)

    def _get_next(self, request: GetRequestNext, protection: DecipheredApdu | None) -> bytes:
        long_get = self._long_get
        if long_get is None:
            return encode_get_response_block(
                request.invoke_id, True, request.block_number, DataAccessResult.NO_LONG_GET_IN_PROGRESS
            )
        if request.block_number != long_get.block_number:
            self._long_get = None
            return encode_get_response_block(
                request.invoke_id, True, request.block_number, DataAccessResult.LONG_GET_ABORTED
            )
        return self._next_block(request.invoke_id, protection)

    def _next_block(self, invoke_id: int, protection: DecipheredApdu | None) -> bytes:
        long_get = self._long_get
        assert long_get is not None
        size = self.client_max_pdu_size - _BLOCK_HEADER - _cipher_overhead(protection)
        chunk = long_get.raw[long_get.offset : long_get.offset + size]
        long_get.offset += len(chunk)
        long_get.block_number += 1
        last = long_get.offset >= len(long_get.raw)
        if last:
            self._long_get = None
        return encode_get_response_block(invoke_id, last, long_get.block_number, chunk)

    def _end_set(self, invoke_id: int, result: DataAccessResult, block_number: int) -> bytes:
        self._long_set = None
        return encode_set_response_last_block(invoke_id, result, block_number)

    def _write(self, reference: AttributeReference, value: Data) -> DataAccessResult:
        return self.objects.set(
            reference.class_id, reference.instance_id, reference.attribute_id, reference.access, value
        )

    def _fits(self, response: bytes, protection: DecipheredApdu | None) -> bool:
        return len(response) + _cipher_overhead(protection) <= self.client_max_pdu_size


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


def _refused(reason: str, service_error: ExceptionServiceError) -> RequestRefused:
    return RequestRefused(reason, ExceptionStateError.SERVICE_NOT_ALLOWED, service_error)


def _raw_value(result: Data | DataAccessResult) -> bytes:
    # A result code is two octets: it always fits, so only a value ever goes through block transfer.
    assert isinstance(result, Data)
    return encode_data(result)
