"""Push setup: the push object list from the profile, destination settings, and the values a push carries."""

from __future__ import annotations

from hes.simulator.cosem import InMemoryMeterState, MeterObjects, PushSetup
from hes.simulator.cosem.conversions import capture_definition
from hes.simulator.dlms.apdu_services import DataAccessResult
from hes.simulator.dlms.values import (
    Data,
    DataType,
    array,
    double_long_unsigned,
    enum,
    integer,
    long_unsigned,
    octets,
    structure,
    unsigned,
)
from tests.simulator.cosem.conftest import READING, ln

PUSH = ln("0-0:25.9.0.255")


def test_push_setup_attributes(meter: MeterObjects) -> None:
    objects = meter.get(40, PUSH, 2)
    assert isinstance(objects, Data) and len(objects.items) == 4
    assert objects.items[0] == capture_definition(40, PUSH, 1, 0)
    assert objects.items[3] == capture_definition(3, ln("1-0:1.8.0.255"), 2, 0)
    assert meter.get(40, PUSH, 3) == structure(enum(0), octets(b""), enum(0))
    assert meter.get(40, PUSH, 4) == array()
    assert meter.get(40, PUSH, 5) == long_unsigned(0)
    assert meter.get(40, PUSH, 6) == unsigned(3)
    assert meter.get(40, PUSH, 7) == long_unsigned(60)


def test_destination_is_a_setting(meter: MeterObjects, state: InMemoryMeterState) -> None:
    destination = structure(enum(0), octets(b"10.0.0.5:4059"), enum(0))
    assert meter.set(40, PUSH, 3, None, destination) is DataAccessResult.SUCCESS
    push = meter.object("0-0:25.9.0.255")
    assert isinstance(push, PushSetup) and push.destination == b"10.0.0.5:4059"
    assert state.writes[-1][1:] == (3, destination)
    wrong_shape = structure(enum(0), Data(DataType.VISIBLE_STRING, "10.0.0.5:4059"), enum(0))
    assert meter.set(40, PUSH, 3, None, wrong_shape) is DataAccessResult.TYPE_UNMATCHED
    assert meter.set(40, PUSH, 3, None, octets(b"10.0.0.5:4059")) is DataAccessResult.TYPE_UNMATCHED
    assert meter.for_client(READING).set(40, PUSH, 3, None, destination) is DataAccessResult.READ_WRITE_DENIED


def test_push_object_list_is_checked(meter: MeterObjects) -> None:
    serial = array(capture_definition(1, ln("0-0:96.1.0.255"), 2, 0))
    assert meter.set(40, PUSH, 2, None, serial) is DataAccessResult.SUCCESS
    bad = array(structure(long_unsigned(1), octets(b"\x00\x00"), integer(2), long_unsigned(0)))
    assert meter.set(40, PUSH, 2, None, bad) is DataAccessResult.TYPE_UNMATCHED


def test_push_values_follow_the_push_object_list(meter: MeterObjects) -> None:
    push = meter.object("0-0:25.9.0.255")
    assert isinstance(push, PushSetup)
    values = push.push_values()
    assert values.items[0] == octets(PUSH)
    assert values.items[1] == octets(b"HXE00000001")
    assert values.items[2].type is DataType.OCTET_STRING and len(values.items[2].value) == 12  # type: ignore[arg-type]
    assert values.items[3] == double_long_unsigned(12_346)
    meter.set(40, PUSH, 2, None, array(capture_definition(3, ln("1-0:99.99.0.255"), 2, 0)))
    assert push.push_values() == structure(Data(DataType.NULL_DATA, None))


def test_push_method(meter: MeterObjects, state: InMemoryMeterState) -> None:
    assert meter.action(40, PUSH, 1, integer(0)) is None
    assert state.invocations[-1][1] == 1
