"""Association LN: each client's object list with its rights (parsed by gurux), partners, context, mechanism."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from gurux_dlms import GXByteBuffer, GXDLMSClient
from gurux_dlms.enums import AccessMode, MethodAccessMode, ObjectType

from hes.obis import load_profile
from hes.simulator.cosem import AssociationContext, InMemoryMeterState, MeterObjects
from hes.simulator.cosem.association_ln import LN_WITH_CIPHERING, MECHANISM_NONE, AssociationLN
from hes.simulator.dlms.apdu_services import ActionResult, DataAccessResult
from hes.simulator.dlms.axdr import encode_data
from hes.simulator.dlms.values import (
    BitString,
    Data,
    DataType,
    boolean,
    enum,
    integer,
    long_unsigned,
    octets,
    structure,
)
from tests.simulator.cosem.conftest import MANAGEMENT, PUBLIC, ln

ASSOCIATION = ln("0-0:40.0.0.255")


def _gurux_objects(objects: MeterObjects) -> dict[str, Any]:
    object_list = objects.get(15, ASSOCIATION, 2)
    assert isinstance(object_list, Data)
    parsed = GXDLMSClient(True).parseObjects(GXByteBuffer(encode_data(object_list)), True)
    return {item.logicalName: item for item in parsed}


def test_management_object_list_has_every_object_and_its_rights(meter: MeterObjects) -> None:
    parsed = _gurux_objects(meter)
    assert len(parsed) == len(load_profile("idis")) + 1  # and the simulator's invocation counter 0-0:43.1.0.255
    assert parsed["0.0.43.1.0.255"].getAccess(2) == AccessMode.READ
    energy, clock, profile = parsed["1.0.1.8.0.255"], parsed["0.0.1.0.0.255"], parsed["1.0.99.1.0.255"]
    assert (energy.objectType, energy.getAccess(2)) == (ObjectType.REGISTER, AccessMode.READ)
    assert clock.getAccess(2) == AccessMode.READ_WRITE
    assert profile.getMethodAccess(1) == MethodAccessMode.ACCESS
    assert parsed["1.0.1.8.0.255"].getMethodAccess(1) == MethodAccessMode.NO_ACCESS


def test_object_list_shows_the_public_client_its_own_rights(meter: MeterObjects) -> None:
    parsed = _gurux_objects(meter.for_client(PUBLIC))
    assert parsed["0.0.1.0.0.255"].getAccess(2) == AccessMode.READ
    assert parsed["0.0.1.0.0.255"].getMethodAccess(6) == MethodAccessMode.NO_ACCESS
    # Every logical name is readable by all, so every object is listed, but the energy value is not its to read.
    assert parsed["1.0.1.8.0.255"].getAccess(2) == AccessMode.NO_ACCESS


def test_object_list_leaves_out_objects_a_client_has_no_right_to(state: InMemoryMeterState) -> None:
    hexing = MeterObjects.build(load_profile("hexing"), state, PUBLIC)
    listed = _gurux_objects(hexing)
    assert "0.0.96.7.20.255" not in listed  # a Hexing threshold: the public client has no right at all
    assert "0.0.1.0.0.255" in listed  # the IDIS clock it extends


def test_load_profile_buffer_lists_its_access_selectors(meter: MeterObjects) -> None:
    object_list = meter.get(15, ASSOCIATION, 2)
    assert isinstance(object_list, Data)
    element = next(item for item in object_list.items if item.items[2].value == ln("1-0:99.1.0.255"))
    buffer_rights = element.items[3].items[0].items[1]
    assert buffer_rights == structure(integer(2), enum(1), Data(DataType.ARRAY, (integer(1), integer(2))))


def test_association_attributes(state: InMemoryMeterState) -> None:
    context = AssociationContext(MANAGEMENT, application_context_name=LN_WITH_CIPHERING, conformance=0x00101D)
    objects = MeterObjects.build(load_profile("idis"), state, MANAGEMENT, context)
    assert objects.get(15, ASSOCIATION, 1) == octets(ASSOCIATION)
    assert objects.get(15, ASSOCIATION, 3) == structure(integer(MANAGEMENT), long_unsigned(1))
    assert objects.get(15, ASSOCIATION, 4) == octets(LN_WITH_CIPHERING)
    assert objects.get(15, ASSOCIATION, 5) == structure(
        Data(DataType.BIT_STRING, BitString(24, bytes.fromhex("00101d"))),
        long_unsigned(1024),
        long_unsigned(1024),
        Data(DataType.UNSIGNED, 6),
        integer(0),
        octets(b""),
    )
    assert objects.get(15, ASSOCIATION, 6) == octets(MECHANISM_NONE)
    assert objects.get(15, ASSOCIATION, 7) is DataAccessResult.READ_WRITE_DENIED  # the secret, never read
    assert objects.get(15, ASSOCIATION, 8) == enum(2)
    assert objects.get(15, ASSOCIATION, 9) == octets(ln("0-0:43.0.0.255"))
    assert objects.action(15, ASSOCIATION, 1, octets(b"f(CtoS)")) is ActionResult.READ_WRITE_DENIED


def test_each_client_has_its_own_current_association(meter: MeterObjects) -> None:
    assert meter.for_client(PUBLIC).get(15, ASSOCIATION, 3) == structure(integer(PUBLIC), long_unsigned(1))
    assert meter.get(15, ASSOCIATION, 3) == structure(integer(MANAGEMENT), long_unsigned(1))


def test_version_0_gives_method_access_as_a_boolean(meter: MeterObjects, state: InMemoryMeterState) -> None:
    spec = replace(load_profile("idis").get("0-0:40.0.0.255"), version=0)
    association = AssociationLN(
        spec, state, lambda class_id, obis: None, context=AssociationContext(MANAGEMENT), visible=meter.visible_objects
    )
    clock = next(item for item in association.object_list().items if item.items[2].value == ln("0-0:1.0.0.255"))
    assert clock.items[3].items[1].items[0] == structure(integer(1), boolean(True))


def test_a_profile_without_an_association_gets_one(state: InMemoryMeterState) -> None:
    hexcell = MeterObjects.build(load_profile("hexcell"), state, 0x11)
    parsed = _gurux_objects(hexcell)
    assert len(parsed) == len(load_profile("hexcell")) + 2  # the association and the invocation counter
    assert parsed["0.0.40.0.0.255"].getAccess(2) == AccessMode.READ
    assert hexcell.get(15, ASSOCIATION, 7) is DataAccessResult.READ_WRITE_DENIED


def test_meters_of_a_brand_share_each_clients_encoded_object_list(state: InMemoryMeterState) -> None:
    profile = load_profile("hexing")
    first = MeterObjects.build(profile, state, MANAGEMENT)
    second = MeterObjects.build(profile, InMemoryMeterState.of(state.now), MANAGEMENT)
    shared = first.get(15, ASSOCIATION, 2)
    assert second.get(15, ASSOCIATION, 2) is shared  # built once for the brand and client, not per meter or read
    assert first.for_client(PUBLIC).get(15, ASSOCIATION, 2) != shared  # another client: its own list
    # What is sent is exactly what building the list afresh gives.
    fresh = AssociationLN(
        profile.get("0-0:40.0.0.255"),
        state,
        lambda class_id, obis: None,
        context=AssociationContext(MANAGEMENT),
        visible=first.visible_objects,
    ).object_list()
    assert isinstance(shared, Data)
    assert encode_data(shared) == encode_data(fresh) and shared == fresh
