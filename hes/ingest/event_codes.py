"""The meter event code catalogue: what each code a meter reports means (type, category, severity).

Codes are those of the DLMS UA IDIS event code table (IDIS package 2), which most DLMS meters and national
companion specifications reuse: standard event log 0-0:99.98.0.255 (1-18, 255), fraud detection log
0-0:99.98.1.255 (40-53), disconnector control log 0-0:99.98.2.255 (59-69) and power quality log
0-0:99.98.4.255 (76-94). 52/53 (phase and neutral current unequal/equal) come from IDIS-derived national
tables and 210/211 (neutral disturbance) from the manufacturer range, as the simulator writes them
(hes/simulator/physics/events.py). A code not listed here is stored as `meter_event` with its code kept.
Adding a code is adding a row.
"""

from __future__ import annotations

from dataclasses import dataclass

from hes.db.enums import EventCategory, Severity

_POWER, _TAMPER, _TECHNICAL = EventCategory.POWER, EventCategory.TAMPER, EventCategory.TECHNICAL
_BILLING = EventCategory.BILLING
_INFO, _WARNING, _ERROR, _CRITICAL = Severity.INFO, Severity.WARNING, Severity.ERROR, Severity.CRITICAL

UNKNOWN_EVENT_TYPE = "meter_event"


@dataclass(frozen=True, slots=True)
class EventCodeDescription:
    """One row of the catalogue; `phase` is set for the per-phase power quality codes."""

    code: int
    event_type: str
    category: EventCategory
    severity: Severity
    description: str
    phase: int | None = None


def _phases(
    first: int, event_type: str, category: EventCategory, severity: Severity, description: str
) -> tuple[EventCodeDescription, ...]:
    """Three consecutive codes for L1, L2, L3 of one power quality condition."""
    return tuple(
        EventCodeDescription(first + offset, event_type, category, severity, f"{description} L{offset + 1}", offset + 1)
        for offset in range(3)
    )


_E = EventCodeDescription
IDIS_EVENT_CODES: tuple[EventCodeDescription, ...] = (
    _E(1, "power_down", _POWER, _WARNING, "Power down"),
    _E(2, "power_up", _POWER, _INFO, "Power up"),
    _E(3, "dst_changed", _TECHNICAL, _INFO, "Daylight saving time enabled or disabled"),
    _E(4, "clock_adjusted_old_time", _TECHNICAL, _INFO, "Clock adjusted (old date/time)"),
    _E(5, "clock_adjusted_new_time", _TECHNICAL, _INFO, "Clock adjusted (new date/time)"),
    _E(6, "clock_invalid", _TECHNICAL, _WARNING, "Clock invalid"),
    _E(7, "battery_replace", _TECHNICAL, _WARNING, "Replace battery"),
    _E(8, "battery_low", _TECHNICAL, _WARNING, "Battery voltage low"),
    _E(9, "tou_activated", _BILLING, _INFO, "TOU (activity calendar) activated"),
    _E(10, "error_register_cleared", _TECHNICAL, _INFO, "Error register cleared"),
    _E(11, "alarm_register_cleared", _TECHNICAL, _INFO, "Alarm register cleared"),
    _E(12, "program_memory_error", _TECHNICAL, _ERROR, "Program memory error"),
    _E(13, "ram_error", _TECHNICAL, _ERROR, "RAM error"),
    _E(14, "nv_memory_error", _TECHNICAL, _ERROR, "NV memory error"),
    _E(15, "watchdog_error", _TECHNICAL, _ERROR, "Watchdog error"),
    _E(16, "measurement_system_error", _TECHNICAL, _CRITICAL, "Measurement system error"),
    _E(17, "firmware_ready_for_activation", _TECHNICAL, _INFO, "Firmware ready for activation"),
    _E(18, "firmware_activated", _TECHNICAL, _INFO, "Firmware activated"),
    _E(40, "terminal_cover_opened", _TAMPER, _WARNING, "Terminal cover removed"),
    _E(41, "terminal_cover_closed", _TAMPER, _INFO, "Terminal cover closed"),
    _E(42, "magnetic_field_detected", _TAMPER, _ERROR, "Strong DC field detected"),
    _E(43, "magnetic_field_gone", _TAMPER, _INFO, "No strong DC field anymore"),
    _E(44, "meter_cover_opened", _TAMPER, _ERROR, "Meter cover removed"),
    _E(45, "meter_cover_closed", _TAMPER, _INFO, "Meter cover closed"),
    _E(46, "authentication_failure", _TAMPER, _WARNING, "Association authentication failure (n times)"),
    _E(48, "global_key_changed", _TECHNICAL, _INFO, "Global key(s) changed"),
    _E(49, "decryption_failure", _TAMPER, _WARNING, "Decryption or authentication failure"),
    _E(50, "replay_attack", _TAMPER, _ERROR, "Replay attack"),
    _E(51, "firmware_verification_failed", _TECHNICAL, _ERROR, "Firmware verification or activation failed"),
    _E(52, "neutral_current_mismatch", _TAMPER, _ERROR, "Phase and neutral current not equal (bypass)"),
    _E(53, "neutral_current_equal", _TAMPER, _INFO, "Phase and neutral current equal again"),
    _E(59, "disconnector_ready_for_reconnection", _POWER, _INFO, "Disconnector ready for manual reconnection"),
    _E(60, "manual_disconnection", _POWER, _INFO, "Manual disconnection"),
    _E(61, "manual_connection", _POWER, _INFO, "Manual connection"),
    _E(62, "remote_disconnection", _POWER, _INFO, "Remote disconnection"),
    _E(63, "remote_connection", _POWER, _INFO, "Remote connection"),
    _E(64, "local_disconnection", _POWER, _WARNING, "Local disconnection"),
    _E(65, "limiter_threshold_exceeded", _POWER, _WARNING, "Limiter threshold exceeded"),
    _E(66, "limiter_threshold_ok", _POWER, _INFO, "Limiter threshold ok"),
    _E(67, "limiter_threshold_changed", _TECHNICAL, _INFO, "Limiter threshold changed"),
    _E(68, "disconnect_reconnect_failure", _TECHNICAL, _ERROR, "Disconnect/reconnect failure"),
    _E(69, "local_reconnection", _POWER, _INFO, "Local reconnection"),
    *_phases(76, "under_voltage", _POWER, _WARNING, "Under voltage"),
    *_phases(79, "over_voltage", _POWER, _WARNING, "Over voltage"),
    *_phases(82, "missing_voltage", _POWER, _ERROR, "Missing voltage"),
    *_phases(85, "voltage_normal", _POWER, _INFO, "Voltage normal"),
    _E(90, "phase_asymmetry", _POWER, _WARNING, "Phase asymmetry"),
    # Energy flowing back through a consumer's meter is the classic sign of reversed wiring (theft).
    _E(91, "current_reversal", _TAMPER, _WARNING, "Current reversal"),
    *_phases(92, "bad_voltage_quality", _POWER, _WARNING, "Bad voltage quality"),
    _E(210, "neutral_disturbance", _TAMPER, _ERROR, "Neutral disturbance"),
    _E(211, "neutral_disturbance_gone", _TAMPER, _INFO, "Neutral disturbance ended"),
    # Clearing a meter's log erases its evidence: worth a look.
    _E(255, "event_log_cleared", _TAMPER, _WARNING, "Event log cleared"),
)

_BY_CODE = {description.code: description for description in IDIS_EVENT_CODES}
if len(_BY_CODE) != len(IDIS_EVENT_CODES):  # pragma: no cover - a catalogue edit error, caught at import
    raise RuntimeError("duplicate code in IDIS_EVENT_CODES")


def describe(code: int) -> EventCodeDescription | None:
    """The catalogue row of a meter event code, or None for a code it does not list."""
    return _BY_CODE.get(code)
