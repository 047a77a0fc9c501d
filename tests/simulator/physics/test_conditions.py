"""Tests of random grid episodes, relay windows and the events they write."""

from __future__ import annotations

from collections import Counter

import pytest

from hes.simulator.physics import NO_DISTURBANCES, DisturbanceRates, EventCode
from hes.simulator.physics.conditions import EpisodeKind, random_episodes, relay_open_windows
from hes.simulator.physics.timeline import date_day, to_datetime
from tests.simulator.physics.factory import DAY, START, make_meter

_RATES = DisturbanceRates(outages_per_day=0.3, sags_per_day=0.2, swells_per_day=0.1, tampers_per_day=0.1)


def test_random_episodes_are_a_function_of_seed_and_day() -> None:
    assert random_episodes(5, 19_800, _RATES, 1) == random_episodes(5, 19_800, _RATES, 1)
    drawn = [random_episodes(5, day, _RATES, 1) for day in range(19_800, 19_830)]
    assert drawn != [random_episodes(6, day, _RATES, 1) for day in range(19_800, 19_830)]
    assert random_episodes(5, 19_800, NO_DISTURBANCES, 1) == ()


def test_random_episodes_follow_their_rates_and_bounds() -> None:
    days = range(20_000, 22_000)
    episodes = [episode for day in days for episode in random_episodes(9, day, _RATES, 3)]
    counts = Counter(episode.kind for episode in episodes)

    assert counts[EpisodeKind.OUTAGE] == pytest.approx(0.3 * len(days), rel=0.15)
    assert counts[EpisodeKind.SAG] == pytest.approx(0.2 * len(days), rel=0.15)
    assert counts[EpisodeKind.SWELL] == pytest.approx(0.1 * len(days), rel=0.2)
    tampers = sum(counts[kind] for kind in (EpisodeKind.METER_COVER, EpisodeKind.TERMINAL_COVER, EpisodeKind.MAGNETIC))
    assert tampers + counts[EpisodeKind.NEUTRAL] == pytest.approx(0.1 * len(days), rel=0.25)
    assert all(0 < episode.end - episode.start <= 6 * 3600 for episode in episodes)
    assert all(episode.level < 0.9 for episode in episodes if episode.kind is EpisodeKind.SAG)
    assert all(episode.level > 1.1 for episode in episodes if episode.kind is EpisodeKind.SWELL)
    assert {len(e.phases) for e in episodes if e.kind is EpisodeKind.SAG} == {1, 3}, "some sags hit one phase"


def test_random_outages_write_paired_events_and_stop_the_registers() -> None:
    meter = make_meter(disturbances=DisturbanceRates(outages_per_day=1.0, sags_per_day=0, swells_per_day=0))
    events = meter.events(START, START + 20 * DAY)
    downs = [event for event in events if event.code is EventCode.POWER_DOWN]
    ups = [event for event in events if event.code is EventCode.POWER_UP]

    assert 8 <= len(downs) <= 40
    assert events == sorted(events, key=lambda event: event.at)
    for down, up in zip(downs, ups, strict=False):
        assert up.at > down.at and up.duration == up.at - down.at
        middle = down.at + (up.at - down.at) / 2
        assert meter.instantaneous(middle).voltage_v == (0.0,)
        assert meter.registers(down.at).active_import_wh == meter.registers(up.at).active_import_wh


def test_a_random_outage_across_midnight_darkens_both_days() -> None:
    rates = DisturbanceRates(outages_per_day=1.0, sags_per_day=0.0, swells_per_day=0.0, tampers_per_day=0.0)
    first_day = date_day(START.date())
    crossing = next(
        episode
        for day in range(first_day, first_day + 3000)
        for episode in random_episodes(7, day, rates, 1)
        if episode.start // 86_400 < episode.end // 86_400 and episode.end % 86_400
    )
    meter = make_meter(disturbances=rates)

    assert meter.instantaneous(to_datetime(crossing.start)).supply_present is False
    assert meter.instantaneous(to_datetime(crossing.end - 1)).supply_present is False
    assert meter.instantaneous(to_datetime(crossing.end)).supply_present is True
    after_midnight = meter.interval(to_datetime(crossing.end // 86_400 * 86_400))
    assert after_midnight.power_down, "the outage drawn yesterday reaches into today"


def test_relay_open_windows() -> None:
    assert relay_open_windows(True, [], 0, 100) == ()
    assert relay_open_windows(False, [], 0, 100) == ((0, 100),)
    assert relay_open_windows(True, [(10, False), (20, True), (90, False)], 0, 100) == ((10, 20), (90, 100))
    assert relay_open_windows(True, [(10, False), (20, True)], 50, 100) == ()
