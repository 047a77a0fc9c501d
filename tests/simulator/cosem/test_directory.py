"""The object directory: every brand answers clock, serial and energy; access and lookup result codes."""

from __future__ import annotations

import gc
import tracemalloc

import pytest

from hes.obis import ObisCode, load_profile
from hes.simulator.cosem import GenericObject, InMemoryMeterState, MeterObjects
from hes.simulator.dlms.apdu_services import AccessSelection, ActionResult, DataAccessResult
from hes.simulator.dlms.date_time import decode_date_time
from hes.simulator.dlms.values import (
    NULL,
    Data,
    DataType,
    array,
    double_long_unsigned,
    enum,
    integer,
    octets,
    structure,
)
from tests.simulator.cosem.conftest import MANAGEMENT, NOW, PUBLIC, READING, ln

CLOCK, SERIAL, ENERGY = ln("0-0:1.0.0.255"), ln("0-0:96.1.0.255"), ln("1-0:1.8.0.255")
BRANDS = {"idis": MANAGEMENT, "hexing": MANAGEMENT, "hexcell": 0x11}


@pytest.mark.parametrize(("brand", "client"), BRANDS.items())
def test_every_brand_answers_clock_serial_number_and_energy(state: InMemoryMeterState, brand: str, client: int) -> None:
    objects = MeterObjects.build(load_profile(brand), state, client)
    time = objects.get(8, CLOCK, 2)
    assert isinstance(time, Data) and isinstance(time.value, bytes) and decode_date_time(time.value) == NOW
    serial = objects.get(1, SERIAL, 2)
    assert serial == Data(DataType.OCTET_STRING, b"SIM00000001")
    energy, scaler_unit = objects.get(3, ENERGY, 2), objects.get(3, ENERGY, 3)
    assert isinstance(energy, Data) and energy.type is DataType.DOUBLE_LONG_UNSIGNED
    assert isinstance(scaler_unit, Data)
    scaler = scaler_unit.items[0].value
    assert isinstance(scaler, int) and energy.value == round(12_345.6 / 10**scaler)
    assert scaler_unit.items[1] == enum(30)  # Wh


def test_hexcell_energy_is_in_tens_of_watt_hours(state: InMemoryMeterState) -> None:
    objects = MeterObjects.build(load_profile("hexcell"), state, 0x11)
    assert objects.get(3, ENERGY, 2) == double_long_unsigned(1_235)


def test_an_undefined_object(meter: MeterObjects) -> None:
    missing = ln("1-0:99.99.0.255")
    assert meter.get(3, missing, 2) is DataAccessResult.OBJECT_UNDEFINED
    assert meter.set(3, missing, 2, None, double_long_unsigned(1)) is DataAccessResult.OBJECT_UNDEFINED
    assert meter.action(3, missing, 1, integer(0)) is ActionResult.OBJECT_UNDEFINED
    assert meter.get(3, b"\x01\x00\x01\x08\x00", 2) is DataAccessResult.OBJECT_UNDEFINED  # 5 octets


def test_a_class_id_that_is_not_the_objects(meter: MeterObjects) -> None:
    assert meter.get(4, ENERGY, 2) is DataAccessResult.OBJECT_CLASS_INCONSISTENT
    assert meter.action(1, ln("0-0:96.3.10.255"), 1, integer(0)) is ActionResult.OBJECT_CLASS_INCONSISTENT


def test_access_denied(meter: MeterObjects) -> None:
    public, reading = meter.for_client(PUBLIC), meter.for_client(READING)
    assert public.get(3, ENERGY, 2) is DataAccessResult.READ_WRITE_DENIED
    assert isinstance(public.get(3, ENERGY, 1), Data)
    assert reading.set(8, CLOCK, 2, None, octets(bytes(12))) is DataAccessResult.READ_WRITE_DENIED
    assert meter.set(3, ENERGY, 2, None, double_long_unsigned(0)) is DataAccessResult.READ_WRITE_DENIED
    assert meter.get(3, ENERGY, 9) is DataAccessResult.READ_WRITE_DENIED  # no attribute 9
    assert meter.set(3, ENERGY, 1, None, octets(ENERGY)) is DataAccessResult.READ_WRITE_DENIED


def test_a_set_of_the_wrong_type(meter: MeterObjects) -> None:
    assert meter.set(8, CLOCK, 2, None, Data(DataType.VISIBLE_STRING, "noon")) is DataAccessResult.TYPE_UNMATCHED
    assert meter.set(70, ln("0-0:96.3.10.255"), 4, None, integer(1)) is DataAccessResult.TYPE_UNMATCHED


def test_a_set_with_selective_access_is_other_reason(meter: MeterObjects) -> None:
    access = AccessSelection(2, NULL)
    assert meter.set(7, ln("1-0:99.1.0.255"), 4, access, double_long_unsigned(60)) is DataAccessResult.OTHER_REASON


def test_clients_share_the_meter(meter: MeterObjects, state: InMemoryMeterState) -> None:
    reading = meter.for_client(READING)
    assert reading.profile is meter.profile
    assert reading.object("0-0:96.3.10.255") is meter.object("0-0:96.3.10.255")
    assert reading.object("0-0:40.0.0.255") is not meter.object("0-0:40.0.0.255")


def test_an_unknown_client_is_refused(state: InMemoryMeterState) -> None:
    with pytest.raises(ValueError, match=r"no client SAP 16 \(it has utility 17\)"):
        MeterObjects.build(load_profile("hexcell"), state, PUBLIC)


def test_hexcell_token_is_written_not_read(state: InMemoryMeterState) -> None:
    objects = MeterObjects.build(load_profile("hexcell"), state, 0x11)
    token = ln("1-0:129.129.2.255")
    value = octets(bytes.fromhex("12345678901234567890"))
    assert objects.set(1, token, 2, None, value) is DataAccessResult.SUCCESS
    assert state.writes[-1] == (ObisCode.parse("1-0:129.129.2.255"), 2, value)
    assert objects.get(1, token, 2) is DataAccessResult.READ_WRITE_DENIED
    assert objects.set(1, token, 2, None, octets(bytes(11))) is DataAccessResult.TYPE_UNMATCHED  # 10 octets at most
    state.measurements[ObisCode.parse("1-0:96.66.0.255")] = 52_340.0  # remaining credit, Wh
    assert objects.get(3, ln("1-0:96.66.0.255"), 2) == double_long_unsigned(5_234)


def test_an_unmodelled_class_keeps_its_attributes_as_settings(state: InMemoryMeterState) -> None:
    objects = MeterObjects.build(load_profile("hexcell"), state, 0x11)
    schedule = ln("0-0:15.0.0.255")  # single action schedule (class 22): end-of-billing dates
    assert isinstance(objects.object("0-0:15.0.0.255"), GenericObject)
    assert objects.get(22, schedule, 2) == NULL  # a structure the profile does not describe
    assert objects.get(22, schedule, 3) == enum(0)
    dates = array(structure(octets(bytes.fromhex("ffffffff")), octets(bytes.fromhex("ff01ff"))))
    assert objects.set(22, schedule, 4, None, dates) is DataAccessResult.SUCCESS
    assert objects.get(22, schedule, 4) == dates
    assert objects.set(22, schedule, 4, None, integer(1)) is DataAccessResult.TYPE_UNMATCHED


def test_visible_objects_follow_the_profile(meter: MeterObjects) -> None:
    listed = [spec.obis for spec in meter.visible_objects()]
    # The profile's objects in its order, then the simulator's own: the invocation counter the profile lacks.
    assert listed == [*(spec.obis for spec in load_profile("idis")), ObisCode.parse("0-0:43.1.0.255")]


def test_a_profile_without_a_current_association_lists_the_clients_first(state: InMemoryMeterState) -> None:
    objects = MeterObjects.build(load_profile("hexcell"), state, 0x11)
    listed = objects.visible_objects()
    assert listed[0].obis == ObisCode.parse("0-0:40.0.0.255") and listed[0].class_id == 15
    assert objects.visible_objects() == listed  # the same list on every read


def test_ten_thousand_meters_fit_in_one_process() -> None:
    # Each meter builds only the objects a client uses and shares everything its profile fixes with the other
    # meters of its brand: a meter read for its clock and a few registers costs a few KiB, not a profile's worth.
    profile, names = load_profile("hexing"), [CLOCK, ENERGY, ln("1-0:32.7.0.255"), ln("1-0:31.7.0.255")]
    states = [InMemoryMeterState.of(NOW, {"1-0:1.8.0.255": float(n)}) for n in range(200)]
    MeterObjects.build(profile, states[0], MANAGEMENT).get(8, CLOCK, 2)  # the brand's shared part, built once
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        meters = [MeterObjects.build(profile, state, MANAGEMENT) for state in states]
        for meter in meters:
            assert all(isinstance(meter.get(8 if name == CLOCK else 3, name, 2), Data) for name in names)
        gc.collect()
        per_meter = (tracemalloc.get_traced_memory()[0] - before) / len(meters)
    finally:
        tracemalloc.stop()
    assert per_meter < 8 * 1024  # about 1.5 KiB on CPython 3.11; the whole profile built was 1 MiB


@pytest.mark.parametrize(("brand", "client"), BRANDS.items())
def test_every_object_of_every_brand_answers_every_attribute(
    state: InMemoryMeterState, brand: str, client: int
) -> None:
    # Objects are built when first used: each of a profile's objects must build and answer, none may raise.
    objects = MeterObjects.build(load_profile(brand), state, client)
    for spec in objects.profile:
        name = spec.obis.to_bytes()
        for attribute in spec.attributes:
            assert isinstance(objects.get(spec.class_id, name, attribute.index), Data | DataAccessResult)
