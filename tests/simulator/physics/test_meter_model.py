"""Tests of the meter model: determinism, registers that match the load profile exactly, relay and billing."""

from __future__ import annotations

from dataclasses import fields
from datetime import date, datetime, timedelta
from itertools import pairwise

import pytest

from hes.simulator.physics import (
    DisturbanceRates,
    EnergyRegisters,
    EventCode,
    IntervalRecord,
    MeterModel,
    ProfileClass,
    RegisterSnapshot,
    VoltageEpisode,
    VoltageKind,
)
from hes.simulator.physics.conditions import DayConditions
from hes.simulator.physics.ledger import DayLedger, MeterConstants, compute_day
from hes.simulator.physics.timeline import day_of, to_seconds
from tests.simulator.physics.factory import DAY, HOUR, MINUTE, START, make_meter

_BUSY_GRID = DisturbanceRates(outages_per_day=0.5, sags_per_day=0.5, swells_per_day=0.5, tampers_per_day=0.5)


def _channels(record: IntervalRecord | RegisterSnapshot | EnergyRegisters) -> tuple[int, ...]:
    return (
        record.active_import_wh,
        record.active_export_wh,
        record.reactive_import_varh,
        record.reactive_export_varh,
        record.apparent_import_vah,
        record.apparent_export_vah,
    )


def _assert_registers_match_intervals(meter: MeterModel, first: datetime, last: datetime) -> int:
    """Walk every interval edge from `first` to `last`, comparing the registers with start + sum(intervals)."""
    start_values = meter.registers(first)
    running = list(_channels(start_values))
    by_rate = [list(start_values.active_import_by_rate_wh), list(start_values.active_export_by_rate_wh)]
    checked = 0
    for record in meter.intervals(first, last):
        running = [total + step for total, step in zip(running, _channels(record), strict=True)]
        by_rate[0][record.tou_rate - 1] += record.active_import_wh
        by_rate[1][record.tou_rate - 1] += record.active_export_wh
        snapshot = meter.registers(record.end)
        assert list(_channels(snapshot)) == running, record.end
        assert list(snapshot.active_import_by_rate_wh) == by_rate[0]
        assert list(snapshot.active_export_by_rate_wh) == by_rate[1]
        checked += 1
    return checked


def test_same_seed_gives_the_same_meter() -> None:
    first, second = make_meter(disturbances=_BUSY_GRID), make_meter(disturbances=_BUSY_GRID)
    later = START + 3 * DAY + 5 * HOUR + 17 * MINUTE

    assert first.intervals(START, START + 3 * DAY) == second.intervals(START, START + 3 * DAY)
    assert first.registers(later) == second.registers(later)
    assert first.instantaneous(later) == second.instantaneous(later)
    assert first.events(START, START + 30 * DAY) == second.events(START, START + 30 * DAY)
    assert first.events(START, START + 30 * DAY), "a busy grid produces events within a month"


def test_answers_do_not_depend_on_what_was_asked_before() -> None:
    asked_in_order, asked_backwards = make_meter(), make_meter()
    moment = START + 2 * DAY + 9 * HOUR + 3 * MINUTE

    forwards = [asked_in_order.registers(START + day * DAY + 7 * HOUR) for day in range(5)]
    backwards = [asked_backwards.registers(START + day * DAY + 7 * HOUR) for day in reversed(range(5))]

    assert forwards == list(reversed(backwards))
    assert asked_in_order.interval(moment) == asked_backwards.interval(moment)


def test_different_seeds_give_different_meters() -> None:
    first, second = make_meter(seed=1), make_meter(seed=2)

    assert [r.active_import_wh for r in first.intervals(START, START + DAY)] != [
        r.active_import_wh for r in second.intervals(START, START + DAY)
    ]
    assert first.start_registers != second.start_registers


@pytest.mark.parametrize(
    ("profile_class", "phases", "reverse_flow"),
    [
        (ProfileClass.RESIDENTIAL, 1, False),
        (ProfileClass.RESIDENTIAL, 1, True),
        (ProfileClass.COMMERCIAL, 3, False),
        (ProfileClass.INDUSTRIAL, 3, True),
    ],
)
def test_registers_are_start_values_plus_the_sum_of_intervals(
    profile_class: ProfileClass, phases: int, reverse_flow: bool
) -> None:
    # Installed mid-morning, read over four UTC midnights, on a grid with outages and sags.
    installed = START + 10 * HOUR + 30 * MINUTE
    meter = make_meter(
        profile_class=profile_class,
        phases=phases,
        reverse_flow=reverse_flow,
        start=installed,
        disturbances=_BUSY_GRID,
        scale_kwh_per_day=300.0 if profile_class is ProfileClass.INDUSTRIAL else 12.0,
    )

    assert meter.registers(installed) == _at(meter.start_registers, installed)
    assert _assert_registers_match_intervals(meter, installed, installed + 4 * DAY) == 4 * 96


def _at(registers: EnergyRegisters, at: datetime) -> RegisterSnapshot:
    """A register set as a snapshot taken at `at`."""
    return RegisterSnapshot(**{field.name: getattr(registers, field.name) for field in fields(registers)}, at=at)


def test_registers_between_interval_edges_climb_to_the_next_edge() -> None:
    meter = make_meter()
    edge = START + DAY + 19 * HOUR
    readings = [meter.registers(edge + timedelta(seconds=second)).active_import_wh for second in range(0, 901, 30)]

    assert readings == sorted(readings)
    assert readings[0] < readings[-1]
    assert readings[-1] - readings[0] == meter.interval(edge).active_import_wh


def test_registers_long_after_installation_match_a_fresh_model() -> None:
    reader = make_meter()
    # Jump far ahead, come back, go forward again: checkpoints must not skew anything.
    far, back, middle = START + 45 * DAY, START + 3 * DAY + 7 * HOUR, START + 20 * DAY + 11 * HOUR
    readings = [reader.registers(moment) for moment in (far, back, middle)]

    assert readings == [make_meter().registers(moment) for moment in (far, back, middle)]
    total = sum(record.active_import_wh for record in make_meter().intervals(START, middle))
    assert readings[2].active_import_wh == make_meter().start_registers.active_import_wh + total


def test_daily_and_monthly_billing_snapshots() -> None:
    meter = make_meter(start=START + 5 * HOUR)

    daily = meter.daily_snapshots(date(2024, 3, 1), date(2024, 4, 2))
    monthly = meter.monthly_snapshots(date(2024, 1, 1), date(2024, 5, 31))

    assert [snapshot.at.date() for snapshot in daily] == [date(2024, 3, 5) + timedelta(days=n) for n in range(29)]
    assert all(snapshot.at.time().hour == 0 and snapshot.at.minute == 0 for snapshot in daily)
    assert daily[0] == meter.daily_snapshot(date(2024, 3, 5)) == meter.registers(START + DAY)
    assert [snapshot.at.date() for snapshot in monthly] == [date(2024, 4, 1), date(2024, 5, 1)]
    assert monthly[0] == meter.monthly_snapshot(2024, 4)
    assert [s.active_import_wh for s in daily] == sorted(s.active_import_wh for s in daily)


def test_relay_open_means_no_energy_no_current_but_voltage() -> None:
    meter = make_meter()
    opened, closed = START + DAY + 10 * HOUR + 7 * MINUTE, START + DAY + 15 * HOUR + 4 * MINUTE

    assert meter.set_relay(False, opened) is True
    assert meter.set_relay(False, opened + MINUTE) is False, "already open: no change, no event"
    assert meter.set_relay(True, closed) is True

    inside = meter.intervals(START + DAY + 10 * HOUR + 15 * MINUTE, START + DAY + 15 * HOUR)
    assert len(inside) == 19
    assert all(_channels(record) == (0,) * 6 for record in inside)
    assert all(record.current_a == (0.0,) and not record.relay_connected for record in inside)
    assert all(record.voltage_v[0] > 200.0 and record.supply_present for record in inside)
    now = meter.instantaneous(opened + HOUR)
    assert (now.relay_connected, now.supply_present, now.current_a) == (False, True, (0.0,))
    assert now.active_power_import_w == 0.0 and now.voltage_v[0] > 200.0
    assert meter.interval(closed + 15 * MINUTE).active_import_wh > 0
    assert [(event.at, event.code) for event in meter.events(START, START + 2 * DAY)] == [
        (opened, EventCode.REMOTE_DISCONNECTION),
        (closed, EventCode.REMOTE_CONNECTION),
    ]
    assert meter.relay_connected(opened) is False and meter.relay_connected(closed) is True
    _assert_registers_match_intervals(meter, START, START + 2 * DAY)


def test_relay_change_never_rewrites_earlier_readings() -> None:
    meter = make_meter()
    reading_time = START + DAY + 20 * HOUR + 3 * MINUTE
    before = meter.registers(reading_time)

    meter.set_relay(False, reading_time + timedelta(seconds=90))  # inside the same interval

    assert meter.registers(reading_time) == before
    assert meter.registers(reading_time + HOUR).active_import_wh >= before.active_import_wh
    with pytest.raises(ValueError, match="past is not rewritten"):
        meter.set_relay(True, reading_time)


def test_a_meter_installed_disconnected_counts_nothing_until_connected() -> None:
    meter = make_meter(relay_connected=False)
    connected = START + 12 * HOUR

    assert meter.registers(connected) == _at(meter.start_registers, connected)
    meter.set_relay(True, connected)
    assert meter.registers(connected + HOUR).active_import_wh > meter.start_registers.active_import_wh


def test_times_must_be_aware_and_after_installation() -> None:
    meter = make_meter()

    with pytest.raises(ValueError, match="timezone-aware"):
        meter.registers(datetime(2024, 3, 5, 12, 0))
    with pytest.raises(ValueError, match="before the meter was installed"):
        meter.interval(START - MINUTE)
    with pytest.raises(ValueError, match="before the meter was installed"):
        meter.instantaneous(START - DAY)
    assert meter.intervals(START - DAY, START + HOUR) == meter.intervals(START, START + HOUR)
    assert len(meter.intervals(START + 7 * MINUTE, START + HOUR)) == 3, "only intervals starting in range"
    assert meter.events(START + DAY, START) == []


def test_installation_time_is_floored_to_an_interval_edge() -> None:
    assert make_meter(start=START + 14 * MINUTE + 59 * timedelta(seconds=1)).start == START


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"phases": 2}, "1 or 3 phases"),
        ({"scale_kwh_per_day": 0.0}, "scale_kwh_per_day"),
        ({"start": datetime(2024, 3, 4)}, "timezone-aware"),
        (
            {"scenarios": (VoltageEpisode(VoltageKind.SAG, START, START + HOUR, phases=(3,)),)},
            "no phase 3",
        ),
        ({"scenarios": ("theft",)}, "not a scenario"),
    ],
)
def test_bad_construction_is_refused(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_meter(**overrides)


def _totals(snapshot: RegisterSnapshot) -> tuple[int, ...]:
    return (*_channels(snapshot), *snapshot.active_import_by_rate_wh, *snapshot.active_export_by_rate_wh)


def test_an_anchored_meter_rolls_only_from_its_anchor_and_stays_exact_after_it(monkeypatch: pytest.MonkeyPatch) -> None:
    computed: list[int] = []

    def counting(meter: MeterConstants, day: int, conditions: DayConditions) -> DayLedger:
        computed.append(day)
        return compute_day(meter, day, conditions)

    monkeypatch.setattr("hes.simulator.physics.meter_model.compute_day", counting)
    anchor = START + 200 * DAY
    meter = make_meter(anchor=anchor + 7 * HOUR, disturbances=_BUSY_GRID, reverse_flow=True)  # floored to 00:00

    meter.registers(anchor + 10 * DAY + 5 * HOUR)
    assert set(computed) == set(range(day_of(to_seconds(anchor)), day_of(to_seconds(anchor)) + 11))
    assert _assert_registers_match_intervals(meter, anchor, anchor + 2 * DAY) == 2 * 96
    at_anchor = meter.registers(anchor)
    assert sum(at_anchor.active_import_by_rate_wh) == at_anchor.active_import_wh
    assert sum(at_anchor.active_export_by_rate_wh) == at_anchor.active_export_wh
    assert at_anchor.active_import_wh > meter.start_registers.active_import_wh + 200 * 8_000, "an estimate above use"


def test_before_its_anchor_a_meter_reads_a_rising_estimate_below_the_anchor() -> None:
    anchor = START + 60 * DAY
    meter = make_meter(anchor=anchor, reverse_flow=True)
    moments = [START + week * 7 * DAY + 3 * HOUR for week in range(9)] + [anchor, anchor + DAY]
    readings = [_totals(meter.registers(moment)) for moment in moments]

    assert meter.registers(START) == _at(meter.start_registers, START)
    for earlier, later in pairwise(readings):
        assert all(a <= b for a, b in zip(earlier, later, strict=True))
    assert readings[0] < readings[-3]


def test_before_its_anchor_a_meter_rolls_backwards_exactly_as_far_as_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    computed: list[int] = []

    def counting(meter: MeterConstants, day: int, conditions: DayConditions) -> DayLedger:
        computed.append(day)
        return compute_day(meter, day, conditions)

    monkeypatch.setattr("hes.simulator.physics.meter_model.compute_day", counting)
    anchor, exact_from = START + 200 * DAY, START + 140 * DAY
    options = {"disturbances": _BUSY_GRID, "reverse_flow": True}
    meter = make_meter(anchor=anchor, exact_from=exact_from + 5 * HOUR, **options)  # floored to 00:00

    meter.registers(anchor + 3 * DAY + 5 * HOUR)
    first_day = day_of(to_seconds(anchor))
    assert set(computed) == set(range(first_day, first_day + 4)), "a present reading rolls forwards only"
    assert meter.registers(anchor) == make_meter(anchor=anchor, **options).registers(anchor), "the same anchor"
    # Exact with the load profile backwards from the anchor, across it, and down to `exact_from`.
    assert _assert_registers_match_intervals(meter, anchor - DAY, anchor + DAY) == 2 * 96
    assert _assert_registers_match_intervals(meter, exact_from, exact_from + DAY) == 96
    assert min(day for day in computed) == day_of(to_seconds(exact_from))
    # Before `exact_from`, the estimate: below the exact values, and still rising.
    estimate, exact = _totals(meter.registers(exact_from - HOUR)), _totals(meter.registers(exact_from))
    assert all(a <= b for a, b in zip(estimate, exact, strict=True))
    assert all(value >= 0 for value in exact)
    # History rolled backwards from the anchor is fixed: no change may reach before the anchor.
    with pytest.raises(ValueError, match="earlier change"):
        meter.set_relay(False, anchor - HOUR)
    assert meter.set_relay(False, anchor + 3 * DAY + 6 * HOUR)
    assert meter.registers(anchor - DAY) == make_meter(anchor=anchor, exact_from=exact_from, **options).registers(
        anchor - DAY
    )


@pytest.mark.parametrize(
    ("profile_class", "scale", "reverse_flow"),
    [
        (ProfileClass.RESIDENTIAL, 8.0, True),
        (ProfileClass.COMMERCIAL, 60.0, False),
        (ProfileClass.INDUSTRIAL, 500.0, True),
    ],
)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_later_anchor_never_reads_below_an_earlier_one(
    profile_class: ProfileClass, scale: float, reverse_flow: bool, seed: int
) -> None:
    # A simulator restarted a month later takes a later anchor: the same moments must not read lower than the
    # run that kept rolling exactly from the earlier anchor; a restart with the same anchor reads the same.
    first, later = START + 28 * DAY, START + 59 * DAY  # 1 April and 2 May 2024
    options = {"profile_class": profile_class, "scale_kwh_per_day": scale, "reverse_flow": reverse_flow, "seed": seed}
    running = make_meter(anchor=first, **options)
    restarted = make_meter(anchor=later, **options)

    for moment in (later, later + 10 * DAY + 7 * HOUR, later + 40 * DAY):
        kept, fresh = _totals(running.registers(moment)), _totals(restarted.registers(moment))
        assert all(a <= b for a, b in zip(kept, fresh, strict=True)), moment
    assert make_meter(anchor=first, **options).registers(later) == running.registers(later)
