"""Tests of the register value type."""

from __future__ import annotations

import pytest

from hes.simulator.physics import EnergyRegisters


def _registers(**overrides: object) -> EnergyRegisters:
    values: dict[str, object] = {
        "active_import_wh": 10,
        "active_export_wh": 0,
        "reactive_import_varh": 3,
        "reactive_export_varh": 0,
        "apparent_import_vah": 11,
        "apparent_export_vah": 0,
        "active_import_by_rate_wh": (1, 2, 3, 4),
        "active_export_by_rate_wh": (0, 0, 0, 0),
    }
    values.update(overrides)
    return EnergyRegisters(**values)  # type: ignore[arg-type]


def test_valid_registers() -> None:
    assert _registers().active_import_wh == 10


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"reactive_import_varh": -1}, "negative"),
        ({"active_import_by_rate_wh": (1, 2, 3)}, "four non-negative"),
        ({"active_import_by_rate_wh": (1, 2, 3, 5)}, "sum to 11, not the total 10"),
        ({"active_export_by_rate_wh": (0, -1, 1, 0)}, "four non-negative"),
    ],
)
def test_inconsistent_registers_are_refused(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _registers(**overrides)
