"""The rule catalogue: every alert type has a kind, rules name known alerts, limits follow the settings."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hes.db.enums import Severity
from hes.ingest.event_codes import describe
from hes.ingest.records import NO_READINGS, IncomingEvent, StoredBatch, StoredEvent
from hes.services.alert_catalogue import (
    ALERT_KINDS,
    CATEGORY_RULES,
    EVENT_RULES,
    VOLTAGES,
    AlertType,
    Bound,
    RuleLimits,
    reading_rules,
)
from hes.services.alert_rules import RuleBook

START = datetime(2024, 5, 1, tzinfo=UTC)


def test_every_alert_type_has_one_kind_and_every_rule_names_a_known_type() -> None:
    assert set(ALERT_KINDS) == set(AlertType)
    named = {rule.alert_type for rule in (*EVENT_RULES, *CATEGORY_RULES, *reading_rules(RuleLimits()))}
    assert named <= set(AlertType)
    event_types = [event_type for rule in EVENT_RULES for event_type in rule.event_types]
    assert len(event_types) == len(set(event_types)), "an event type raises one alert"


def test_default_voltage_limits_are_nominal_plus_and_minus_ten_percent() -> None:
    rules = {(rule.alert_type, rule.bound): rule for rule in reading_rules(RuleLimits()) if rule.codes == VOLTAGES}
    over = rules[(AlertType.OVER_VOLTAGE, Bound.ABOVE)]
    under = rules[(AlertType.UNDER_VOLTAGE, Bound.BELOW)]
    assert over.limit == pytest.approx(253.0) and under.limit == pytest.approx(207.0)
    assert over.broken_by(253.1) and not over.broken_by(253.0)
    assert under.broken_by(206.9) and not under.broken_by(207.0)
    # No supply at all is the power-failure events' business, not under voltage.
    assert not under.broken_by(0.0) and not under.broken_by(12.0)


def test_limits_follow_the_settings_and_refuse_nonsense() -> None:
    limits = RuleLimits(nominal_voltage=120.0, voltage_tolerance_percent=5.0, reverse_power_w=200.0)
    assert (limits.over_voltage, limits.under_voltage) == pytest.approx((126.0, 114.0))
    reverse = [rule for rule in reading_rules(limits) if rule.alert_type is AlertType.REVERSE_FLOW]
    assert sorted(rule.limit for rule in reverse) == [-200.0, 200.0]
    for wrong in (
        {"nominal_voltage": 0.0},
        {"voltage_tolerance_percent": 0.0},
        {"voltage_tolerance_percent": 100.0},
        {"reverse_power_w": -1.0},
        {"zero_consumption_hours": 0},
    ):
        with pytest.raises(ValueError):
            RuleLimits(**wrong)  # type: ignore[arg-type]


def test_theft_indicators_are_critical() -> None:
    for alert_type in (AlertType.TAMPER_COVER, AlertType.TAMPER_MAGNETIC, AlertType.REVERSE_FLOW):
        assert ALERT_KINDS[alert_type].severity is Severity.CRITICAL


@pytest.mark.parametrize(
    ("code", "alert_type"),
    [
        (44, AlertType.TAMPER_COVER),
        (40, AlertType.TAMPER_COVER),
        (42, AlertType.TAMPER_MAGNETIC),
        (52, AlertType.TAMPER_BYPASS),
        (210, AlertType.TAMPER_NEUTRAL),
        (1, AlertType.POWER_FAILURE),
        (82, AlertType.POWER_FAILURE),
        (79, AlertType.OVER_VOLTAGE),
        (78, AlertType.UNDER_VOLTAGE),
        (91, AlertType.REVERSE_FLOW),
        (255, AlertType.TAMPER),  # event log cleared: no rule of its own, a tamper warning all the same
        (50, AlertType.TAMPER),
        (45, None),  # cover closed again
        (43, None),
        (2, None),
        (85, None),
        (62, None),
    ],
)
def test_meter_event_codes_raise_the_expected_alert(code: int, alert_type: AlertType | None) -> None:
    # The names come from the ingest path's code catalogue: a rename there must not silence an alert here.
    described = describe(code)
    assert described is not None
    stored = StoredEvent(1, IncomingEvent(1, described.event_type, START, described.category, described.severity))
    findings = RuleBook(RuleLimits()).findings(StoredBatch(NO_READINGS, (stored,), ()))
    assert [finding.alert_type for finding in findings] == ([alert_type] if alert_type else [])
