"""The shared part of an object: one table per profile entry, with its settings and every client's rights."""

from __future__ import annotations

import pytest

from hes.obis import load_profile
from hes.simulator.cosem import Clock, InMemoryMeterState, Register
from hes.simulator.cosem.base import GenericObject, table_of
from hes.simulator.cosem.shared import ObjectTable, Setting
from hes.simulator.dlms.apdu_services import DataAccessResult
from hes.simulator.dlms.values import Data, DataType, double_long_unsigned, integer, octets, unsigned
from tests.simulator.cosem.conftest import NOW


def _no_object(class_id: int, obis: object) -> None:
    return None


@pytest.mark.parametrize("brand", ["idis", "hexing", "hexcell"])
def test_rights_are_the_profiles_for_every_client(brand: str) -> None:
    profile = load_profile(brand)
    saps = [role.sap for role in profile.clients] + [99]  # and a client the profile does not know
    for spec in profile:
        table = ObjectTable(spec, ())
        indexes = {attribute.index for attribute in spec.attributes} | {0, 99}
        for sap in saps:
            for index in indexes:
                attribute = spec.attribute(index)
                expected = attribute.access_for(sap) if attribute is not None else 0
                assert table.attribute_right(index, sap) == expected, (spec.obis, index, sap)
                method = spec.method(index)
                expected = method.access_for(sap) if method is not None else 0
                assert table.method_right(index, sap) == expected, (spec.obis, index, sap)


def test_a_setting_starts_from_the_profile_default_else_the_fallback() -> None:
    demand = load_profile("idis").get("1-0:1.4.0.255")  # period (attribute 8) defaults to 900 s
    table = ObjectTable(demand, [Setting(8, double_long_unsigned(60)), Setting(12, unsigned(4))])
    assert table.settings[8].initial == double_long_unsigned(900)
    assert table.settings[12].initial == unsigned(4)  # attribute 12 is not in the profile
    assert table.logical_name == octets(bytes((1, 0, 1, 4, 0, 255)))


def test_a_setting_refuses_the_wrong_type_then_what_its_check_refuses() -> None:
    spec = load_profile("idis").get("0-0:1.0.0.255")
    table = ObjectTable(spec, [Setting(7, integer(60), check=lambda value: value.value != 0)])
    rule = table.settings[7]
    assert rule.refuses(integer(30)) is None
    assert rule.refuses(integer(0)) is DataAccessResult.OTHER_REASON
    assert rule.refuses(Data(DataType.LONG, 30)) is DataAccessResult.TYPE_UNMATCHED


def test_meters_of_a_brand_share_one_table_per_object() -> None:
    spec = load_profile("idis").get("1-0:1.8.0.255")
    first = Register(spec, InMemoryMeterState.of(NOW), _no_object)
    second = Register(spec, InMemoryMeterState.of(NOW), _no_object)
    assert first.table is second.table is table_of(Register, spec)
    assert table_of(GenericObject, spec) is not first.table  # another class, another table


def test_a_setting_one_object_adds_leaves_the_shared_table_alone() -> None:
    spec = load_profile("idis").get("0-0:1.0.0.255")
    own, other = (Clock(spec, InMemoryMeterState.of(NOW), _no_object) for _ in range(2))
    own.setting(10, unsigned(1))
    assert own.get(10) == unsigned(1)
    assert other.get(10) is DataAccessResult.OBJECT_UNAVAILABLE
    assert 10 not in table_of(Clock, spec).settings
    assert own.get(7) == other.get(7) == integer(60)  # the class's settings are still there


def test_writes_stay_with_their_meter() -> None:
    spec = load_profile("idis").get("0-0:1.0.0.255")
    one, two = InMemoryMeterState.of(NOW), InMemoryMeterState.of(NOW)
    first, second = Clock(spec, one, _no_object), Clock(spec, two, _no_object)
    assert first.set(7, integer(30)) is DataAccessResult.SUCCESS
    assert (first.get(7), second.get(7)) == (integer(30), integer(60))
    assert one.writes == [(spec.obis, 7, integer(30))] and two.writes == []
