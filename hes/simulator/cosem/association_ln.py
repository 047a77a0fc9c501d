"""Association LN (class 15, Blue Book 4.4.3): the current association (0-0:40.0.0.255) as one client sees it.

object_list lists every object the client has a right to, with those rights (access_mode per attribute, method
access per method). The partners, application context, xDLMS context and mechanism are what the association
layer agreed (`AssociationContext`). The secret is never read; reply_to_HLS_authentication (method 1) belongs to
the association layer, which answers it while it authenticates the client.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass
from enum import IntEnum

from hes.obis import Access, ObisCode
from hes.obis.profile_types import AttributeSpec, CosemObjectSpec, MethodSpec
from hes.simulator.cosem.base import ActionOutcome, CosemObject, ReadResult, Resolver
from hes.simulator.cosem.state import MeterState
from hes.simulator.dlms.apdu_services import ActionResult, DataAccessResult
from hes.simulator.dlms.axdr import pre_encoded
from hes.simulator.dlms.values import (
    NULL,
    BitString,
    Data,
    DataType,
    array,
    boolean,
    enum,
    integer,
    long_unsigned,
    octets,
    structure,
    unsigned,
)

__all__ = [
    "CURRENT_ASSOCIATION",
    "LN_NO_CIPHERING",
    "LN_WITH_CIPHERING",
    "MECHANISM_NONE",
    "SECURITY_SETUP",
    "AssociationContext",
    "AssociationLN",
    "AttributeAccessMode",
    "default_association_spec",
]

CURRENT_ASSOCIATION = ObisCode(0, 0, 40, 0, 0, 255)
SECURITY_SETUP = ObisCode(0, 0, 43, 0, 0, 255)
# Object identifiers as BER octets (IEC 62056-5-3 7.3.7.1): application contexts 2.16.756.5.8.1.{1,3} and the
# lowest-level-security mechanism 2.16.756.5.8.2.0.
LN_NO_CIPHERING = bytes.fromhex("60857405080101")
LN_WITH_CIPHERING = bytes.fromhex("60857405080103")
MECHANISM_NONE = bytes.fromhex("60857405080200")
ASSOCIATED = 2  # association_status enum
_ASSOCIATED = enum(ASSOCIATED)
_SECURITY_SETUP_REFERENCE = octets(SECURITY_SETUP.to_bytes())
_PROFILE_BUFFER_SELECTORS = array(integer(1), integer(2))  # by range and by entry (Blue Book 4.3.6)


class AttributeAccessMode(IntEnum):
    """access_mode of an attribute in object_list (Association LN versions 0-2)."""

    NO_ACCESS = 0
    READ_ONLY = 1
    WRITE_ONLY = 2
    READ_AND_WRITE = 3


@dataclass(frozen=True, slots=True)
class AssociationContext:
    """What the association layer agreed with the client, shown by the current association's attributes 3-6."""

    client_sap: int
    server_sap: int = 1
    application_context_name: bytes = LN_NO_CIPHERING
    mechanism_name: bytes = MECHANISM_NONE
    conformance: int = 0  # the 24-bit negotiated conformance block
    max_receive_pdu_size: int = 1024
    max_send_pdu_size: int = 1024
    dlms_version: int = 6


class AssociationLN(CosemObject):
    """Association LN (class 15): the current association of one client."""

    def __init__(
        self,
        spec: CosemObjectSpec,
        state: MeterState,
        resolve: Resolver,
        *,
        context: AssociationContext,
        visible: Callable[[], Sequence[CosemObjectSpec]],
        object_lists: MutableMapping[int, Data] | None = None,
    ) -> None:
        """The current association of client `context.client_sap`, listing the objects `visible` returns.

        `object_lists` keeps each client's object list, encoded, for every meter that shares it (by client SAP):
        the list follows from the profile alone, and building it for a brand of 700 objects takes ~20 ms.
        """
        super().__init__(spec, state, resolve)
        self.context = context
        self._visible = visible
        self._object_lists = object_lists

    def read(self, attribute: int) -> ReadResult | None:
        """object_list (2), associated_partners_id (3), application_context_name (4), xdlms_context_info (5),
        authentication_mechanism_name (6), secret (7: never disclosed), association_status (8) and
        security_setup_reference (9)."""
        context = self.context
        if attribute == 2:
            return self.object_list()
        if attribute == 3:
            return structure(integer(context.client_sap), long_unsigned(context.server_sap))
        if attribute == 4:
            return octets(context.application_context_name)
        if attribute == 5:
            return self._xdlms_context_info()
        if attribute == 6:
            return octets(context.mechanism_name)
        if attribute == 7:
            return DataAccessResult.READ_WRITE_DENIED  # the secret is never disclosed
        if attribute == 8:
            return _ASSOCIATED
        if attribute == 9:
            return _SECURITY_SETUP_REFERENCE
        return None

    def invoke(self, method: int, parameters: Data | None) -> ActionOutcome | None:
        """reply_to_HLS_authentication (1)."""
        # The association layer answers reply_to_HLS_authentication while it authenticates the client (IEC
        # 62056-5-3 9.2.7.4); once associated there is no challenge left to answer.
        return ActionResult.READ_WRITE_DENIED if method == 1 else None

    def object_list(self) -> Data:
        """object_list: every object this client may use, with its access rights (built once per shared cache)."""
        cache = self._object_lists
        if cache is None:
            return self._build_object_list()
        client = self.context.client_sap
        found = cache.get(client)
        if found is None:
            found = cache[client] = pre_encoded(self._build_object_list())
        return found

    def _build_object_list(self) -> Data:
        return array(*(self._element(spec) for spec in self._visible()))

    def _element(self, spec: CosemObjectSpec) -> Data:
        client = self.context.client_sap
        attributes = []
        for attribute in spec.attributes:
            right = attribute.access_for(client)
            mode = (AttributeAccessMode.READ_ONLY if Access.READ in right else 0) | (
                AttributeAccessMode.WRITE_ONLY if Access.WRITE in right else 0
            )
            selectors = _PROFILE_BUFFER_SELECTORS if spec.class_id == 7 and attribute.index == 2 else NULL
            attributes.append(structure(integer(attribute.index), enum(mode), selectors))
        methods = []
        for method in spec.methods:
            allowed = Access.EXECUTE in method.access_for(client)
            # Association LN version 0 gives method access as a boolean, later versions as an enum.
            method_mode = boolean(allowed) if self.spec.version == 0 else enum(int(allowed))
            methods.append(structure(integer(method.index), method_mode))
        rights = structure(array(*attributes), array(*methods))
        return structure(long_unsigned(spec.class_id), unsigned(spec.version), octets(spec.obis.to_bytes()), rights)

    def _xdlms_context_info(self) -> Data:
        context = self.context
        conformance = BitString(24, (context.conformance & 0xFFFFFF).to_bytes(3, "big"))
        return structure(
            Data(DataType.BIT_STRING, conformance),
            long_unsigned(context.max_receive_pdu_size),
            long_unsigned(context.max_send_pdu_size),
            unsigned(context.dlms_version),
            integer(0),  # quality_of_service: not used
            octets(b""),  # cyphering_info: none
        )


# Client SAPs whose default association spec is kept (one spec per client, shared by every meter without one).
_CLIENTS = 128
# Attributes of Association LN version 1 (Blue Book 4.4.3) and their types, for meters whose profile has none.
_ATTRIBUTES = (
    ("logical_name", "octet-string"),
    ("object_list", "array"),
    ("associated_partners_id", "structure"),
    ("application_context_name", "octet-string"),
    ("xdlms_context_info", "structure"),
    ("authentication_mechanism_name", "octet-string"),
    ("secret", "octet-string"),
    ("association_status", "enum"),
    ("security_setup_reference", "octet-string"),
)


@functools.lru_cache(maxsize=_CLIENTS)
def default_association_spec(client_sap: int) -> CosemObjectSpec:
    """The current association of a meter whose profile does not list one: every logical device has it (Blue
    Book 4.1.3), readable by its client but for the secret, with reply_to_HLS_authentication."""
    readable = ((client_sap, Access.READ),)
    attributes = tuple(
        AttributeSpec(index, name, data_type, access=() if name == "secret" else readable)
        for index, (name, data_type) in enumerate(_ATTRIBUTES, 1)
    )
    methods = (MethodSpec(1, "reply_to_hls_authentication", "octet-string", ((client_sap, Access.EXECUTE),)),)
    return CosemObjectSpec(CURRENT_ASSOCIATION, 15, 1, "Current association", "Association", attributes, methods)
