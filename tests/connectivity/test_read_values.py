"""Read values into ingest records: numbers only, AMR status marks rows suspect, log rows typed by code or log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hes.connectivity.dlms import BitString, ColumnKind, ProfileColumn, ProfileReading, ProfileRow, RegisterReading
from hes.connectivity.read_values import number, profile_events, profile_readings, register_readings
from hes.db.enums import EventCategory, ReadingQuality, ReadingSource
from hes.obis.codes import ObisCode
from hes.obis.profile_types import ObjectReference

CLOCK, STATUS = ObisCode.parse("0-0:1.0.0.255"), ObisCode.parse("0-0:96.10.1.255")
ENERGY, VOLTAGE = ObisCode.parse("1-0:1.8.0.255"), ObisCode.parse("1-0:32.7.0.255")
T0 = datetime(2026, 3, 2, tzinfo=UTC)


def _column(class_id: int, code: ObisCode, kind: ColumnKind, unit: str | None = None) -> ProfileColumn:
    return ProfileColumn(ObjectReference(class_id, code, 2), kind, -1 if kind is ColumnKind.SCALED else None, unit)


def test_numbers_status_words_and_what_is_not_a_number() -> None:
    assert number(12) == 12.0 and number(True) == 1.0 and number(0.5) == 0.5
    assert number(BitString(b"\x80\x01", 16)) == 0x8001
    assert number(b"serial") is None and number(None) is None and number(T0) is None


def test_register_readings_skip_refused_and_non_numeric_values_and_keep_capture_times() -> None:
    captured = T0 - timedelta(days=3)
    registers = [
        RegisterReading(ENERGY, 3, 1234.5, "Wh", 0),
        RegisterReading(VOLTAGE, 3, None, error=3),
        RegisterReading(ObisCode.parse("0-0:96.1.0.255"), 1, b"47007000001"),
        RegisterReading(ObisCode.parse("1-0:1.6.0.255"), 4, 5000, "W", 0, capture_time=captured),
    ]
    readings = register_readings(7, registers, T0, ReadingSource.DLMS_POLL)
    assert [(str(r.obis), r.timestamp, r.value, r.unit) for r in readings] == [
        ("1-0:1.8.0.255", T0, 1234.5, "Wh"),
        ("1-0:1.6.0.255", captured, 5000.0, "W"),
    ]


def test_profile_rows_with_a_bad_amr_status_are_suspect() -> None:
    columns = (
        _column(8, CLOCK, ColumnKind.TIME),
        _column(1, STATUS, ColumnKind.RAW),
        _column(3, ENERGY, ColumnKind.SCALED, "Wh"),
        _column(3, VOLTAGE, ColumnKind.SCALED, "V"),
    )
    rows = (
        ProfileRow(T0, (T0, 0, 100.0, 230.1)),
        ProfileRow(T0 + timedelta(minutes=15), (T0, 0x02, 101.0, None)),  # clock invalid; voltage missing
    )
    columns_read = profile_readings(
        7, ProfileReading(ObisCode.parse("1-0:99.1.0.255"), columns, 0, rows), ReadingSource.DLMS_POLL
    )
    assert len(columns_read) == 3 and list(columns_read.codes) == [ENERGY, VOLTAGE]
    assert list(columns_read.values) == [100.0, 230.1, 101.0]
    assert list(columns_read.qualities) == [ReadingQuality.GOOD, ReadingQuality.GOOD, ReadingQuality.SUSPECT]
    assert list(columns_read.units) == ["Wh", "V", "Wh"]


def test_log_rows_are_typed_by_their_code_or_by_the_log() -> None:
    standard = ProfileReading(
        ObisCode.parse("0-0:99.98.0.255"),
        (_column(8, CLOCK, ColumnKind.TIME), _column(1, ObisCode.parse("0-0:96.11.0.255"), ColumnKind.RAW)),
        0,
        (ProfileRow(T0, (T0, 1)), ProfileRow(T0, (T0, 79)), ProfileRow(T0, (T0, 199))),
    )
    down, over, unknown = profile_events(7, standard)
    assert (down.event_type, down.code, down.category) == ("power_down", 1, EventCategory.POWER)
    assert over.event_type == "over_voltage" and over.details["phase"] == 1
    assert (unknown.event_type, unknown.code) == ("meter_event", 199)
    cover = ProfileReading(
        ObisCode.parse("1-0:99.98.42.255"),
        (_column(8, CLOCK, ColumnKind.TIME), _column(8, CLOCK, ColumnKind.TIME)),
        0,
        (ProfileRow(T0, (T0, T0 + timedelta(minutes=5))),),
    )
    (opened,) = profile_events(7, cover)
    assert (opened.event_type, opened.code, opened.category) == ("meter_cover_opened", 44, EventCategory.TAMPER)
    assert opened.details == {"log": "1-0:99.98.42.255", "endedAt": (T0 + timedelta(minutes=5)).isoformat()}
    failures = ProfileReading(
        ObisCode.parse("0-0:99.97.0.255"),
        (_column(8, CLOCK, ColumnKind.TIME), _column(3, ObisCode.parse("0-0:96.7.19.255"), ColumnKind.SCALED, "s")),
        0,
        (ProfileRow(T0, (T0, 600.0)),),
    )
    (failure,) = profile_events(7, failures)
    assert (failure.event_type, failure.code, failure.details["0-0:96.7.19.255"]) == ("long_power_failure", None, 600.0)
