"""Tests of a computed day: running energies, counted fractions and the split of net power by direction."""

from __future__ import annotations

from itertools import pairwise

import pytest

from hes.simulator.physics import ProfileClass
from hes.simulator.physics.conditions import Episode, EpisodeKind, day_conditions
from hes.simulator.physics.ledger import channel_rates, compute_day
from hes.simulator.physics.meter_setup import constants_for
from hes.simulator.physics.timeline import date_day
from tests.simulator.physics.factory import START

_DAY = date_day(START.date())
_MIDNIGHT = _DAY * 86_400


def test_channel_rates_split_by_direction() -> None:
    assert channel_rates(100.0, 1.0, 0.0, 0.75) == (100.0, 0.0, 75.0, 0.0, 125.0, 0.0)
    assert channel_rates(100.0, 1.0, 400.0, 0.0) == (0.0, 300.0, 0.0, 0.0, 0.0, 300.0)
    assert channel_rates(100.0, 0.5, 0.0, -0.75) == (50.0, 0.0, 0.0, 37.5, 62.5, 0.0)


def test_a_quiet_day_counts_every_interval_in_full() -> None:
    meter = constants_for(ProfileClass.RESIDENTIAL, 3, 1, 8.0, True)
    ledger = compute_day(meter, _DAY, day_conditions(_DAY, (), (), True, (), _MIDNIGHT))

    assert ledger.weight == (1.0,) * 96 and ledger.measured == (1.0,) * 96
    for index in range(96):
        rates = ledger.rates(index)
        for channel, running in enumerate(ledger.cumulative):
            assert running[index + 1] == running[index] + rates[channel]
    assert ledger.cumulative[0][96] == pytest.approx(8_000.0, rel=0.4), "about a mean day"


def test_off_windows_and_bypass_scale_the_counted_energy() -> None:
    meter = constants_for(ProfileClass.COMMERCIAL, 3, 3, 100.0, False)
    outage = Episode(EpisodeKind.OUTAGE, _MIDNIGHT + 450, _MIDNIGHT + 1800)  # half of interval 0, all of 1
    bypass = Episode(EpisodeKind.BYPASS, _MIDNIGHT + 3600, _MIDNIGHT + 4050, level=0.0)  # half of interval 4
    conditions = day_conditions(_DAY, (outage, bypass), (), True, [(_MIDNIGHT + 7200, False)], _MIDNIGHT)
    ledger = compute_day(meter, _DAY, conditions)

    assert ledger.weight[:3] == (0.5, 0.0, 1.0)
    assert ledger.weight[8:] == (0.0,) * 88, "relay open from 02:00"
    assert ledger.measured[3:6] == (1.0, 0.5, 1.0)
    assert all(b >= a for running in ledger.cumulative for a, b in pairwise(running))
    assert ledger.cumulative[0][96] == ledger.cumulative[0][8]
