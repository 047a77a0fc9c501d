"""The meter event catalogue: IDIS codes to type, category and severity; unknown codes are not guessed."""

from __future__ import annotations

from hes.db.enums import EventCategory, Severity
from hes.ingest.event_codes import IDIS_EVENT_CODES, describe


def test_the_codes_alert_rules_rely_on_mean_what_idis_says() -> None:
    expected = {
        1: ("power_down", EventCategory.POWER),
        2: ("power_up", EventCategory.POWER),
        40: ("terminal_cover_opened", EventCategory.TAMPER),
        42: ("magnetic_field_detected", EventCategory.TAMPER),
        44: ("meter_cover_opened", EventCategory.TAMPER),
        62: ("remote_disconnection", EventCategory.POWER),
        76: ("under_voltage", EventCategory.POWER),
        81: ("over_voltage", EventCategory.POWER),
        210: ("neutral_disturbance", EventCategory.TAMPER),
    }
    for code, (event_type, category) in expected.items():
        described = describe(code)
        assert described is not None, code
        assert (described.event_type, described.category) == (event_type, category)


def test_power_quality_codes_carry_their_phase() -> None:
    phases = {code: describe(code) for code in (76, 77, 78, 85, 86, 87)}
    assert {code: (d.event_type, d.phase) for code, d in phases.items() if d} == {
        76: ("under_voltage", 1),
        77: ("under_voltage", 2),
        78: ("under_voltage", 3),
        85: ("voltage_normal", 1),
        86: ("voltage_normal", 2),
        87: ("voltage_normal", 3),
    }


def test_unknown_codes_are_not_described() -> None:
    assert describe(47) is None
    assert describe(9999) is None


def test_catalogue_rows_are_unique_and_well_formed() -> None:
    codes = [row.code for row in IDIS_EVENT_CODES]
    assert len(codes) == len(set(codes))
    for row in IDIS_EVENT_CODES:
        assert row.event_type.islower() and " " not in row.event_type
        assert isinstance(row.category, EventCategory) and isinstance(row.severity, Severity)
        assert row.description
