"""The common object shape: unknown attributes and methods, selective access where there is none, settings."""

from __future__ import annotations

from hes.obis import load_profile
from hes.simulator.cosem import CosemObject, GenericObject, InMemoryMeterState
from hes.simulator.dlms.apdu_services import ActionResult, DataAccessResult
from hes.simulator.dlms.values import NULL, Data, DataType, integer, octets, unsigned


def _object(state: InMemoryMeterState, obis: str = "0-0:96.10.1.255") -> CosemObject:
    return CosemObject(load_profile("idis").get(obis), state, lambda class_id, code: None)


def test_logical_name_is_the_six_octet_obis_code(state: InMemoryMeterState) -> None:
    assert _object(state).get(1) == octets(bytes((0, 0, 96, 10, 1, 255)))


def test_what_a_class_does_not_model(state: InMemoryMeterState) -> None:
    bare = _object(state)
    assert bare.get(2) is DataAccessResult.OBJECT_UNAVAILABLE
    assert bare.get(1, 1, NULL) is DataAccessResult.OTHER_REASON  # no selective access on the logical name
    assert bare.set(1, octets(bytes(6))) is DataAccessResult.READ_WRITE_DENIED
    assert bare.action(1, integer(0)) is ActionResult.OBJECT_UNAVAILABLE


def test_settings_read_what_was_written(state: InMemoryMeterState) -> None:
    bare = _object(state)
    bare.setting(2, unsigned(0), check=lambda value: value.value != 7)
    assert bare.get(2) == unsigned(0)
    assert bare.set(2, unsigned(5)) is DataAccessResult.SUCCESS
    assert bare.set(2, unsigned(7)) is DataAccessResult.OTHER_REASON
    assert bare.set(2, integer(5)) is DataAccessResult.TYPE_UNMATCHED
    assert bare.get(2) == unsigned(5)
    assert state.writes == [(bare.obis, 2, unsigned(5))]


def test_capture_types_by_the_profile_or_by_the_value(state: InMemoryMeterState) -> None:
    bare = _object(state)
    assert bare.capture(2, 3) == unsigned(3)
    assert bare.capture(9, 3) == Data(DataType.DOUBLE_LONG, 3)  # attribute 9 is not in the profile


def test_generic_object_starts_from_zero_values(state: InMemoryMeterState) -> None:
    generic = GenericObject(load_profile("idis").get("0-0:96.5.0.255"), state, lambda class_id, code: None)
    assert generic.get(2) == Data(DataType.DOUBLE_LONG_UNSIGNED, 0)
