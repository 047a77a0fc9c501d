"""Tests of the deterministic random streams."""

from __future__ import annotations

import statistics

import pytest

from hes.simulator.physics.randomness import generator, indexed, mix, normals, poisson, symmetric, unit


def test_keys_are_stable_and_order_sensitive() -> None:
    assert mix(1, 2, 3) == mix(1, 2, 3)
    assert mix(1, 2) != mix(2, 1)
    assert mix(1) != mix(1, 0)
    assert mix(-5) == mix(-5) and 0 <= mix(-5) < 2**64
    # SplitMix64's reference outputs for state 0 (Vigna's splitmix64.c): every simulated meter depends on them.
    assert mix(0) == indexed(0, 0) == 0xE220A8397B1DCDAF
    assert indexed(0, 1) == 0x6E789E6AA1B965F4


def test_uniform_and_symmetric_ranges() -> None:
    units = [unit(7, n) for n in range(5000)]
    spread = [symmetric(7, n) for n in range(5000)]

    assert min(units) >= 0.0 and max(units) < 1.0
    assert statistics.fmean(units) == pytest.approx(0.5, abs=0.02)
    assert min(spread) > -1.0 and max(spread) < 1.0
    assert statistics.fmean(spread) == pytest.approx(0.0, abs=0.02)
    assert len({indexed(3, n) for n in range(1000)}) == 1000


def test_normals_and_poisson() -> None:
    values = normals(generator(1, 2), 20_001)

    assert len(values) == 20_001
    assert statistics.fmean(values) == pytest.approx(0.0, abs=0.03)
    assert statistics.pstdev(values) == pytest.approx(1.0, abs=0.03)
    assert normals(generator(1, 2), 5) == values[:5]
    source = generator(3)
    assert statistics.fmean(poisson(source, 0.4) for _ in range(20_000)) == pytest.approx(0.4, abs=0.02)
    assert poisson(source, 0.0) == 0
