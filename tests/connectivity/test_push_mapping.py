"""Push bodies to readings and events: the push object list (brand profile, else IDIS), the profile's scaler and
unit, the clock as timestamp, alarm bits as events; bodies that do not fit their list are refused."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from hes.connectivity.dlms.errors import MalformedAnswer
from hes.connectivity.dlms.notification import DataNotification
from hes.connectivity.push_mapping import (
    ALARM_PUSH,
    INTERVAL_PUSH,
    device_name,
    map_push,
    meter_numbers_of,
    push_objects,
)
from hes.db.enums import EventCategory, ReadingSource, Severity
from hes.obis import load_profile
from hes.obis.codes import ObisCode
from hes.obis.profile_types import AttributeSpec, BrandProfile, CosemObjectSpec, ObjectReference

CLOCK_OCTETS = bytes.fromhex("07e80506010708090000 0000".replace(" ", ""))  # 2024-05-06 07:08:09.00, UTC
CLOCK_TIME = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
RECEIVED = datetime(2024, 5, 6, 7, 10, tzinfo=UTC)
ENERGY = ObisCode.parse("1-0:1.8.0.255")
VOLTAGE = ObisCode.parse("1-0:32.7.0.255")
CURRENT = ObisCode.parse("1-0:31.7.0.255")
FAILURES = ObisCode.parse("0-0:96.7.21.255")
STATUS = ObisCode.parse("0-0:96.5.0.255")
OWN_PUSH = ObisCode.parse("0-1:25.9.0.255")


def _push(*values: object, timestamp: datetime | None = None) -> DataNotification:
    return DataNotification(timestamp, tuple(values))  # type: ignore[arg-type]


def _interval(energy: int = 123456) -> DataNotification:
    return _push(INTERVAL_PUSH.to_bytes(), b"HXE47007000001", CLOCK_OCTETS, energy)


def _profile() -> BrandProfile:
    """A brand whose own push setup pushes voltage (scaled), current (no scaler on record), two data objects."""
    listed = tuple(
        ObjectReference(class_id, ObisCode.parse(code) if isinstance(code, str) else code, attribute)
        for class_id, code, attribute in (
            (40, OWN_PUSH, 1),
            (1, "0-0:42.0.0.255", 2),
            (3, VOLTAGE, 2),
            (3, CURRENT, 2),
            (1, FAILURES, 2),
            (1, STATUS, 2),
            (3, VOLTAGE, 3),  # its scaler_unit: not a value
        )
    )
    push_setup = CosemObjectSpec(
        OWN_PUSH, 40, 0, "push", "Communication", (AttributeSpec(2, "push_object_list", "array", references=listed),)
    )
    idis = load_profile("idis")
    return BrandProfile("test", (), (push_setup, idis.get(VOLTAGE), idis.get(FAILURES)))


def test_an_idis_push_is_mapped_with_the_brands_scaler_and_the_meters_clock() -> None:
    contents = map_push(7, load_profile("hexing"), _interval(), RECEIVED)
    assert (contents.push_setup, contents.device_name, contents.meter_time) == (
        INTERVAL_PUSH,
        b"HXE47007000001",
        CLOCK_TIME,
    )
    (reading,) = contents.readings
    assert (reading.meter_id, reading.obis, reading.timestamp, reading.value, reading.unit, reading.source) == (
        7,
        ENERGY,
        CLOCK_TIME,
        123456.0,
        "Wh",
        ReadingSource.DLMS_PUSH,
    )
    assert contents.events == ()


def test_a_brand_without_the_push_setup_uses_idis_list_and_its_own_scaler() -> None:
    hexcell = load_profile("hexcell")
    assert hexcell.find(INTERVAL_PUSH) is None and push_objects(hexcell, INTERVAL_PUSH) == push_objects(
        load_profile("idis"), INTERVAL_PUSH
    )
    (reading,) = map_push(1, hexcell, _interval(12345), RECEIVED).readings
    assert reading.value == 123450.0  # Hexcell's energy register: scaler 1


def test_a_brands_own_list_values_are_scaled_and_unscalable_registers_left_out() -> None:
    push = _push(OWN_PUSH.to_bytes(), b"TST0001", 2301, 57, 3, b"\x00\x01", (-1, 35))
    contents = map_push(1, _profile(), push, RECEIVED)
    assert [(reading.obis, reading.value, reading.unit) for reading in contents.readings] == [
        (VOLTAGE, 230.1, "V"),
        (FAILURES, 3.0, None),
    ]
    assert contents.skipped == 1  # the current: a register without a scaler on record is never stored raw
    assert {reading.timestamp for reading in contents.readings} == {RECEIVED}  # no clock pushed, no own date-time


def test_the_notifications_own_date_time_stamps_a_push_without_a_clock() -> None:
    push = _push(OWN_PUSH.to_bytes(), b"TST0001", None, None, None, None, None, timestamp=CLOCK_TIME)
    contents = map_push(1, _profile(), push, RECEIVED)
    assert contents.readings == () and contents.meter_time is None


def test_alarm_bits_become_events_and_unknown_bits_generic_alarms() -> None:
    bits = 1 << 13 | 1 << 30
    contents = map_push(3, load_profile("idis"), _push(ALARM_PUSH.to_bytes(), b"SIM1", CLOCK_OCTETS, bits), RECEIVED)
    assert contents.readings == ()
    fraud, other = contents.events
    assert (fraud.event_type, fraud.category, fraud.severity, fraud.timestamp) == (
        "fraud_attempt",
        EventCategory.TAMPER,
        Severity.ERROR,
        CLOCK_TIME,
    )
    assert (other.event_type, other.details["bit"]) == ("alarm", 30)


@pytest.mark.parametrize(
    ("push", "message"),
    [
        (_push(b"not a name", 1), "not a push setup"),
        (_push(ObisCode.parse("0-9:25.9.0.255").to_bytes(), 1), "no known push object list"),
        (_push(INTERVAL_PUSH.to_bytes(), b"HXE1", CLOCK_OCTETS), "3 values"),
        (replace(_interval(), body=123), "not a push setup"),
    ],
)
def test_a_push_that_does_not_fit_its_list_is_refused(push: DataNotification, message: str) -> None:
    with pytest.raises(MalformedAnswer, match=message):
        map_push(1, load_profile("idis"), push, RECEIVED)


def test_the_device_name_is_found_before_the_sender_is_known() -> None:
    assert device_name(_interval()) == b"HXE47007000001"
    unknown_list = _push(OWN_PUSH.to_bytes(), CLOCK_OCTETS, 5, b"ABC123456")
    assert device_name(unknown_list) == b"ABC123456"  # shaped like one: printable, 4-16 octets
    assert device_name(_push(OWN_PUSH.to_bytes(), CLOCK_OCTETS, 5)) is None


def test_a_device_name_stands_for_its_serial_then_itself() -> None:
    assert meter_numbers_of(b"HXE47007000001") == ("47007000001", "HXE47007000001")
    assert meter_numbers_of(b"ABCD") == ("D", "ABCD")
    assert meter_numbers_of(b"\x00\x01\x02\x03\x04") == ()
