"""Blue Book unit codes and symbols."""

from __future__ import annotations

import pytest

from hes.obis.units import UNIT_SYMBOLS, UNITLESS, unit_code, unit_symbol


@pytest.mark.parametrize(("symbol", "code"), [("Wh", 30), ("varh", 32), ("V", 35), ("A", 33), ("Hz", 44), ("s", 7)])
def test_unit_codes(symbol: str, code: int) -> None:
    assert unit_code(symbol) == code
    assert unit_symbol(code) == symbol


def test_unitless_and_unknown() -> None:
    assert unit_symbol(UNITLESS) == "unitless"
    assert unit_symbol(200) == "200"
    assert len(set(UNIT_SYMBOLS.values())) == len(UNIT_SYMBOLS)
    with pytest.raises(ValueError, match="kWh"):
        unit_code("kWh")
