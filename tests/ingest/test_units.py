"""Unit factors: another unit of the same quantity converts by its SI prefixes; another quantity does not."""

from __future__ import annotations

import pytest

from hes.ingest.units import converted, factor


@pytest.mark.parametrize(
    ("sent", "stored", "expected"),
    [
        ("kWh", "Wh", 1e3),
        ("Wh", "kWh", 1e-3),
        ("MWh", "Wh", 1e6),
        ("mWh", "MWh", 1e-9),
        ("kvarh", "varh", 1e3),
        ("kV", "V", 1e3),
        ("mA", "A", 1e-3),
        ("Wh", "Wh", 1.0),
        (None, "Wh", 1.0),  # no unit sent: taken to be the code's
        ("kWh", None, 1.0),  # the code's unit unknown: stored as sent
        ("V", "Wh", None),
        ("W", "Wh", None),  # power is not energy
        ("KWH", "Wh", None),  # case matters: M and m are a billion apart
        ("min", "s", None),
    ],
)
def test_factor(sent: str | None, stored: str | None, expected: float | None) -> None:
    assert factor(sent, stored) == expected


def test_converted_values_carry_no_binary_noise() -> None:
    assert converted(4.35, 1e3) == 4350.0  # 4.35 * 1000 is 4349.999999999999 in binary floating point
    assert converted(0.231, 1e3) == 231.0
    assert converted(230.1, 1.0) == 230.1
