"""Data, Register, Extended register and Demand register: attribute types, scaling, writes and reset."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hes.obis import load_profile
from hes.simulator.cosem import InMemoryMeterState, MeterObjects
from hes.simulator.cosem.registers import DataObject, DemandRegister, ExtendedRegister, Register
from hes.simulator.dlms.apdu_services import DataAccessResult
from hes.simulator.dlms.date_time import decode_date_time
from hes.simulator.dlms.values import Data, DataType, double_long_unsigned, enum, integer, long_unsigned, structure
from tests.simulator.cosem.conftest import MANAGEMENT, NOW, PUBLIC, ln


def _register(state: InMemoryMeterState, obis: str, brand: str = "idis") -> Register:
    spec = load_profile(brand).get(obis)
    cls = {3: Register, 4: ExtendedRegister, 5: DemandRegister}[spec.class_id]
    return cls(spec, state, lambda class_id, code: None)


def test_data_object_values_are_typed_as_the_profile_says(meter: MeterObjects) -> None:
    assert meter.get(1, ln("0-0:96.1.0.255"), 1) == Data(DataType.OCTET_STRING, ln("0-0:96.1.0.255"))
    assert meter.get(1, ln("0-0:96.1.0.255"), 2) == Data(DataType.OCTET_STRING, b"SIM00000001")
    assert meter.get(1, ln("0-0:42.0.0.255"), 2) == Data(DataType.OCTET_STRING, b"HXE00000001")
    # Not in the meter state: the zero of its type.
    assert meter.get(1, ln("0-0:96.5.0.255"), 2) == Data(DataType.DOUBLE_LONG_UNSIGNED, 0)
    assert meter.get(1, ln("0-0:96.10.1.255"), 2) == Data(DataType.UNSIGNED, 0)


def test_data_object_write_is_type_checked_and_told_to_the_state(state: InMemoryMeterState) -> None:
    status = DataObject(load_profile("idis").get("0-0:96.5.0.255"), state, lambda class_id, code: None)
    assert status.set(2, Data(DataType.VISIBLE_STRING, "alarm")) is DataAccessResult.TYPE_UNMATCHED
    assert status.set(2, double_long_unsigned(0x81)) is DataAccessResult.SUCCESS
    assert status.get(2) == double_long_unsigned(0x81)
    assert state.writes[-1][1:] == (2, double_long_unsigned(0x81))


def test_data_object_state_value_that_does_not_fit_is_other_reason(state: InMemoryMeterState) -> None:
    state.data_values[load_profile("idis").get("0-0:96.10.1.255").obis] = 300  # AMR status is an unsigned
    status = DataObject(load_profile("idis").get("0-0:96.10.1.255"), state, lambda class_id, code: None)
    assert status.get(2) is DataAccessResult.OTHER_REASON


@pytest.mark.parametrize(
    ("obis", "value", "scaler_unit"),
    [
        ("1-0:1.8.0.255", Data(DataType.DOUBLE_LONG_UNSIGNED, 12_346), (0, 30)),  # 12,345.6 Wh
        ("1-0:1.8.1.255", Data(DataType.DOUBLE_LONG_UNSIGNED, 7_000), (0, 30)),
        ("1-0:32.7.0.255", Data(DataType.LONG_UNSIGNED, 2_315), (-1, 35)),  # 231.46 V in 0.1 V
        ("1-0:31.7.0.255", Data(DataType.LONG_UNSIGNED, 524), (-2, 33)),  # 5.237 A in 0.01 A
        ("1-0:14.7.0.255", Data(DataType.LONG_UNSIGNED, 5_001), (-2, 44)),
        ("1-0:13.7.0.255", Data(DataType.LONG, -950), (-3, 255)),  # power factor, unitless
        ("1-0:52.7.0.255", Data(DataType.LONG_UNSIGNED, 0), (-1, 35)),  # not measured: zero
    ],
)
def test_register_value_and_scaler_unit(
    meter: MeterObjects, obis: str, value: Data, scaler_unit: tuple[int, int]
) -> None:
    assert meter.get(3, ln(obis), 2) == value
    assert meter.get(3, ln(obis), 3) == structure(integer(scaler_unit[0]), enum(scaler_unit[1]))


def test_register_reset_restarts_from_zero(state: InMemoryMeterState) -> None:
    register = _register(state, "1-0:1.8.0.255")
    assert register.action(1, integer(0)).name == "SUCCESS"  # type: ignore[union-attr]
    assert register.get(2) == double_long_unsigned(0)
    state.measurements[register.obis] += 1_000.0
    assert register.get(2) == double_long_unsigned(1_000)


def test_cumulative_energy_cannot_be_reset_by_a_client(meter: MeterObjects) -> None:
    assert meter.action(3, ln("1-0:1.8.0.255"), 1, integer(0)).name == "READ_WRITE_DENIED"  # type: ignore[union-attr]


def test_threshold_register_written_by_management_only(state: InMemoryMeterState) -> None:
    hexing = load_profile("hexing")
    management = MeterObjects.build(hexing, state, MANAGEMENT)
    sag = ln("1-0:12.31.0.255")  # Threshold for Under Voltage (sag): value long-unsigned, {-1, V}
    assert management.set(3, sag, 2, None, long_unsigned(1_840)) is DataAccessResult.SUCCESS
    assert management.get(3, sag, 2) == long_unsigned(1_840)
    assert management.set(3, sag, 2, None, double_long_unsigned(1_840)) is DataAccessResult.TYPE_UNMATCHED
    assert management.for_client(PUBLIC).set(3, sag, 2, None, long_unsigned(1)) is DataAccessResult.READ_WRITE_DENIED
    pre_established = management.for_client(102)  # "W" only: may write, may not read
    assert pre_established.set(3, sag, 2, None, long_unsigned(1_800)) is DataAccessResult.SUCCESS
    assert pre_established.get(3, sag, 2) is DataAccessResult.READ_WRITE_DENIED


def test_register_default_is_in_its_unit(state: InMemoryMeterState) -> None:
    # Threshold for missing voltage: default 115 (V) with scaler -1 reads as 1150 tenths of a volt.
    assert _register(state, "1-0:12.39.0.255", "hexing").get(2) == long_unsigned(1_150)
    assert _register(state, "0-0:96.7.20.255", "hexing").get(2) == long_unsigned(180)  # 180 s, scaler 0


def test_register_captures_scale_like_the_value(state: InMemoryMeterState) -> None:
    voltage = _register(state, "1-0:32.7.0.255")
    assert voltage.capture(2, 229.96) == long_unsigned(2_300)
    assert voltage.capture(2, None) == Data(DataType.NULL_DATA, None)


def test_extended_register_attributes(meter: MeterObjects) -> None:
    maximum = ln("1-0:1.6.0.255")
    assert meter.get(4, maximum, 2) == double_long_unsigned(4_400)
    assert meter.get(4, maximum, 3) == structure(integer(0), enum(27))
    assert meter.get(4, maximum, 4) == Data(DataType.UNSIGNED, 0)
    captured = meter.get(4, maximum, 5)
    assert isinstance(captured, Data) and captured.type is DataType.OCTET_STRING
    assert isinstance(captured.value, bytes) and decode_date_time(captured.value) == NOW


def test_demand_register_attributes(meter: MeterObjects, state: InMemoryMeterState) -> None:
    demand = ln("1-0:1.4.0.255")
    state.now = NOW + timedelta(minutes=7)
    assert meter.get(5, demand, 2) == double_long_unsigned(1_200)
    assert meter.get(5, demand, 3) == double_long_unsigned(1_200)
    assert meter.get(5, demand, 4) == structure(integer(0), enum(27))
    assert meter.get(5, demand, 5) == Data(DataType.UNSIGNED, 0)
    start = meter.get(5, demand, 7)
    assert isinstance(start, Data) and isinstance(start.value, bytes)
    assert decode_date_time(start.value) == NOW  # the current 15-minute period began at 12:00
    assert meter.get(5, demand, 8) == double_long_unsigned(900)
    assert meter.get(5, demand, 9) == long_unsigned(1)


def test_demand_register_next_period_keeps_the_last_average(meter: MeterObjects, state: InMemoryMeterState) -> None:
    demand = ln("1-0:1.4.0.255")
    assert meter.action(5, demand, 2, integer(0)) is None
    state.measurements[load_profile("idis").get("1-0:1.4.0.255").obis] = 900.0
    assert meter.get(5, demand, 2) == double_long_unsigned(900)
    assert meter.get(5, demand, 3) == double_long_unsigned(1_200)
    assert meter.set(5, demand, 8, None, double_long_unsigned(0)) is DataAccessResult.OTHER_REASON
    assert meter.set(5, demand, 8, None, double_long_unsigned(1_800)) is DataAccessResult.SUCCESS
