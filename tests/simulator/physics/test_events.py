"""Tests of the event code table."""

from __future__ import annotations

from hes.obis.codes import ObisCode
from hes.simulator.physics import EVENT_LOG_OBIS, EventCode, EventLog, MeterEvent
from tests.simulator.physics.factory import START


def test_every_code_belongs_to_a_log_with_an_object() -> None:
    for code in EventCode:
        assert MeterEvent(START, code).log in EVENT_LOG_OBIS
    assert set(EVENT_LOG_OBIS) == set(EventLog)
    assert EVENT_LOG_OBIS[EventLog.FRAUD] == ObisCode.parse("0-0:99.98.1.255")


def test_codes_go_to_their_idis_logs() -> None:
    assert MeterEvent(START, EventCode.POWER_DOWN).log is EventLog.POWER_FAILURE
    assert MeterEvent(START, EventCode.METER_COVER_REMOVED).log is EventLog.FRAUD
    assert MeterEvent(START, EventCode.NEUTRAL_DISTURBANCE).log is EventLog.FRAUD
    assert MeterEvent(START, EventCode.REMOTE_DISCONNECTION).log is EventLog.DISCONNECTOR
    assert MeterEvent(START, EventCode.OVER_VOLTAGE_L3, phase=3).log is EventLog.POWER_QUALITY
    assert (EventCode.UNDER_VOLTAGE_L1, EventCode.OVER_VOLTAGE_L1, EventCode.VOLTAGE_NORMAL_L1) == (76, 79, 85)
