"""Tests of scripted scenarios: outage, theft, bypass, stuck register, tamper and voltage episodes."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from hes.simulator.physics import (
    Bypass,
    DisturbanceRates,
    EventCode,
    Outage,
    StuckRegister,
    Tamper,
    TamperFlag,
    TamperKind,
    Theft,
    VoltageEpisode,
    VoltageKind,
)
from tests.simulator.physics.factory import DAY, HOUR, MINUTE, START, daily_import_wh, make_meter


def test_outage_has_no_energy_no_voltage_and_power_events() -> None:
    down, up = START + DAY + 2 * HOUR + 10 * MINUTE, START + DAY + 3 * HOUR + 40 * MINUTE
    meter = make_meter(scenarios=(Outage(down, up),))

    inside = meter.intervals(START + DAY + 2 * HOUR + 15 * MINUTE, START + DAY + 3 * HOUR + 30 * MINUTE)
    assert len(inside) == 5
    for record in inside:
        assert (record.active_import_wh, record.reactive_import_varh, record.apparent_import_vah) == (0, 0, 0)
        assert (record.voltage_v, record.current_a, record.supply_present, record.power_down) == (
            (0.0,),
            (0.0,),
            False,
            True,
        )
    edge = meter.interval(down)
    assert edge.power_down and edge.voltage_v[0] > 200.0, "voltage is the mean while supplied"
    assert 0 < edge.active_import_wh < make_meter().interval(down).active_import_wh
    dark = meter.instantaneous(down + HOUR)
    assert (dark.voltage_v, dark.current_a, dark.frequency_hz, dark.supply_present) == ((0.0,), (0.0,), 0.0, False)
    assert meter.registers(down) == replace(meter.registers(up), at=down), "registers stand still"
    events = meter.events(START, START + 2 * DAY)
    assert [(event.at, event.code, event.duration) for event in events] == [
        (down, EventCode.POWER_DOWN, None),
        (up, EventCode.POWER_UP, up - down),
    ]
    assert all(event.log == "power_failure" for event in events)


def test_theft_lowers_consumption_by_its_fraction_from_its_day() -> None:
    honest = make_meter()
    thief = make_meter(scenarios=(Theft(start=date(2024, 3, 7), fraction=0.4),))

    for day in range(3):
        assert daily_import_wh(thief, day) == daily_import_wh(honest, day)
    for day in range(3, 7):
        # Same seed, same load: only the stolen share is missing (up to whole-Wh rounding per interval).
        assert daily_import_wh(thief, day) == pytest.approx(0.6 * daily_import_wh(honest, day), abs=96)
    assert thief.instantaneous(START + 5 * DAY + 12 * HOUR).current_a[0] == pytest.approx(
        0.6 * honest.instantaneous(START + 5 * DAY + 12 * HOUR).current_a[0], rel=0.01
    )
    assert thief.events(START, START + 7 * DAY) == [], "theft is silent: only analytics can find it"


def test_theft_can_end() -> None:
    thief = make_meter(scenarios=(Theft(start=date(2024, 3, 5), fraction=0.5, end=date(2024, 3, 6)),))

    assert daily_import_wh(thief, 1) < 0.6 * daily_import_wh(make_meter(), 1)
    assert daily_import_wh(thief, 2) == daily_import_wh(make_meter(), 2)


def test_stuck_register_stops_counting_while_the_load_goes_on() -> None:
    stuck_at = START + DAY + 8 * HOUR + 20 * MINUTE
    meter = make_meter(scenarios=(StuckRegister(start=stuck_at),))

    frozen = meter.registers(stuck_at)
    later = [meter.registers(stuck_at + hours * HOUR) for hours in (1, 10, 50)]
    assert all(reading.active_import_wh == frozen.active_import_wh for reading in later)
    assert all(record.active_import_wh == 0 for record in meter.intervals(stuck_at + 10 * MINUTE, START + 4 * DAY))
    now = meter.instantaneous(stuck_at + 5 * HOUR)
    assert now.active_power_import_w > 0.0 and now.current_a[0] > 0.0
    assert meter.interval(stuck_at + 5 * HOUR).current_a[0] > 0.0


def test_bypass_registers_almost_nothing_while_the_neutral_carries_the_load() -> None:
    begin, end = START + DAY + 6 * HOUR, START + DAY + 22 * HOUR
    meter = make_meter(scenarios=(Bypass(start=begin, end=end, residual=0.02),))
    honest = make_meter()

    bypassed = sum(record.active_import_wh for record in meter.intervals(begin, end))
    normal = sum(record.active_import_wh for record in honest.intervals(begin, end))
    assert bypassed == pytest.approx(0.02 * normal, abs=64)
    now = meter.instantaneous(begin + 12 * HOUR)
    assert now.current_neutral_a > 10 * now.current_a[0]
    assert now.current_neutral_a == pytest.approx(honest.instantaneous(begin + 12 * HOUR).current_a[0], rel=0.01)
    record = meter.interval(begin + 12 * HOUR)
    assert record.current_neutral_a > 10 * record.current_a[0]
    assert now.tamper == TamperFlag.PHASE_NEUTRAL_MISMATCH
    assert meter.tamper_status(end) == TamperFlag.NONE
    assert [(event.at, event.code) for event in meter.events(START, START + 3 * DAY)] == [
        (begin, EventCode.PHASE_NEUTRAL_CURRENT_MISMATCH),
        (end, EventCode.PHASE_NEUTRAL_CURRENT_EQUAL),
    ]


@pytest.mark.parametrize(
    ("kind", "flag", "codes"),
    [
        (TamperKind.METER_COVER, TamperFlag.METER_COVER_OPEN, (44, 45)),
        (TamperKind.TERMINAL_COVER, TamperFlag.TERMINAL_COVER_OPEN, (40, 41)),
        (TamperKind.MAGNETIC, TamperFlag.MAGNETIC_FIELD, (42, 43)),
        (TamperKind.NEUTRAL, TamperFlag.NEUTRAL_DISTURBANCE, (210, 211)),
    ],
)
def test_tamper_sets_the_status_word_and_logs_fraud_events(
    kind: TamperKind, flag: TamperFlag, codes: tuple[int, int]
) -> None:
    begin, end = START + DAY + 3 * HOUR + 1 * MINUTE, START + DAY + 3 * HOUR + 45 * MINUTE
    meter = make_meter(scenarios=(Tamper(kind, begin, end),))

    assert meter.tamper_status(begin - MINUTE) == TamperFlag.NONE
    assert meter.tamper_status(begin) == flag
    assert meter.instantaneous(begin + 10 * MINUTE).tamper == flag
    assert meter.tamper_status(end) == TamperFlag.NONE
    events = meter.events(START, START + 2 * DAY)
    assert [(event.at, event.code) for event in events] == [(begin, codes[0]), (end, codes[1])]
    assert {event.log for event in events} == {"fraud"}
    assert meter.intervals(START, START + 2 * DAY) == make_meter().intervals(START, START + 2 * DAY)


def test_sag_on_one_phase_of_a_three_phase_meter() -> None:
    begin, end = START + DAY + 18 * HOUR + 2 * MINUTE, START + DAY + 18 * HOUR + 7 * MINUTE
    meter = make_meter(phases=3, scenarios=(VoltageEpisode(VoltageKind.SAG, begin, end, level=0.8, phases=(2,)),))

    during = meter.instantaneous(begin + MINUTE)
    assert during.voltage_v[1] == 184.0
    assert all(207.0 < volts < 253.0 for volts in (during.voltage_v[0], during.voltage_v[2]))
    assert meter.interval(begin).voltage_v[1] < make_meter(phases=3).interval(begin).voltage_v[1] - 10.0
    assert [(event.at, event.code, event.phase) for event in meter.events(START, START + 2 * DAY)] == [
        (begin, EventCode.UNDER_VOLTAGE_L2, 2),
        (end, EventCode.VOLTAGE_NORMAL_L2, 2),
    ]


def test_swell_on_a_single_phase_meter() -> None:
    begin = START + 4 * HOUR
    meter = make_meter(scenarios=(VoltageEpisode(VoltageKind.SWELL, begin, begin + 2 * MINUTE),))

    assert meter.instantaneous(begin).voltage_v == (259.9,)
    assert [event.code for event in meter.events(START, START + DAY)] == [
        EventCode.OVER_VOLTAGE_L1,
        EventCode.VOLTAGE_NORMAL_L1,
    ]


def test_a_sag_during_an_outage_is_not_seen() -> None:
    down = START + 5 * HOUR
    meter = make_meter(
        scenarios=(
            Outage(down, down + HOUR),
            VoltageEpisode(VoltageKind.SAG, down + 10 * MINUTE, down + 12 * MINUTE),
        )
    )

    assert [event.code for event in meter.events(START, START + DAY)] == [EventCode.POWER_DOWN, EventCode.POWER_UP]
    assert meter.instantaneous(down + 11 * MINUTE).voltage_v == (0.0,)


def test_scenarios_added_at_run_time_only_change_the_future() -> None:
    meter = make_meter()
    now = START + 2 * DAY + 9 * HOUR
    before = meter.intervals(START, now)
    reading = meter.registers(now)

    meter.add_scenario(Theft(start=date(2024, 3, 7), fraction=0.5), now)
    meter.add_scenario(Outage(now + HOUR, now + 2 * HOUR), now)
    meter.set_relay(False, now + 30 * MINUTE)  # still allowed: the scenarios start later

    assert meter.intervals(START, now) == before
    assert meter.registers(now) == reading
    assert daily_import_wh(meter, 3) < 0.6 * daily_import_wh(make_meter(), 3)
    with pytest.raises(ValueError, match="cannot start in the past"):
        meter.add_scenario(Outage(now, now + HOUR), now + HOUR)
    with pytest.raises(ValueError, match="cannot start in the past"):
        meter.add_scenario(Theft(start=date(2024, 3, 7), fraction=0.1), now + DAY)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Theft(date(2024, 3, 5), 0.0), "fraction"),
        (lambda: Theft(date(2024, 3, 5), 1.5), "fraction"),
        (lambda: Theft(date(2024, 3, 5), 0.5, end=date(2024, 3, 5)), "end after"),
        (lambda: Bypass(START, residual=1.0), "residual"),
        (lambda: Outage(START, START), "after start"),
        (lambda: Outage(datetime(2024, 3, 4), datetime(2024, 3, 5)), "timezone-aware"),
        (lambda: StuckRegister(START, START - HOUR), "after start"),
        (lambda: Tamper(TamperKind.MAGNETIC, START + HOUR, START), "after start"),
        (lambda: VoltageEpisode(VoltageKind.SAG, START, START + HOUR, level=0.95), "sag level"),
        (lambda: VoltageEpisode(VoltageKind.SWELL, START, START + HOUR, level=1.05), "swell level"),
        (lambda: VoltageEpisode(VoltageKind.SAG, START, START + HOUR, phases=()), "phases"),
        (lambda: VoltageEpisode(VoltageKind.SAG, START, START + HOUR, phases=(1, 1)), "phases"),
        (lambda: VoltageEpisode(VoltageKind.SAG, START, START + HOUR, phases=(4,)), "phases"),
        (lambda: DisturbanceRates(outages_per_day=-1.0), "outages_per_day"),
        (lambda: DisturbanceRates(tampers_per_day=50.0), "tampers_per_day"),
    ],
)
def test_bad_scenarios_are_refused(build: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()  # type: ignore[operator]


def test_open_ended_scenarios_log_only_their_start() -> None:
    meter = make_meter(scenarios=(Bypass(start=START + HOUR),))

    assert [event.code for event in meter.events(START, START + timedelta(days=400))] == [
        EventCode.PHASE_NEUTRAL_CURRENT_MISMATCH
    ]
