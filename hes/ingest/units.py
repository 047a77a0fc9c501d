"""Units of readings: what a sent unit must be multiplied by to be stored in the catalogue's unit.

Readings are stored without a unit: each OBIS code's unit is in the catalogue (`obis_codes.unit`, the brand
profiles' scaler_unit symbols: Wh, V, A, var, ...), and everything downstream (consumption rollups, alert limits,
the readings API) reads values in that unit. A sender writing kWh for a Wh register is converted; one writing a
unit of another quantity (V for a Wh register) is refused, since storing it would silently corrupt the series.
Units compare case-sensitively: "MWh" and "mWh" differ by a factor of 10^9.
"""

from __future__ import annotations

from functools import lru_cache

WRONG_UNIT = "wrong_unit"
# The SI prefixes meters and gateways put before a unit.
PREFIXES: dict[str, float] = {"": 1.0, "k": 1e3, "M": 1e6, "G": 1e9, "m": 1e-3}


@lru_cache(maxsize=1024)
def factor(sent: str | None, stored: str | None) -> float | None:
    """The factor taking a value in `sent` to `stored`; 1.0 when either is unknown; None for another quantity."""
    if not sent or not stored or sent == stored:
        return 1.0
    for sent_prefix, sent_scale in PREFIXES.items():
        if not sent.startswith(sent_prefix):
            continue
        base = sent[len(sent_prefix) :]
        for stored_prefix, stored_scale in PREFIXES.items():
            if base and stored == stored_prefix + base:
                return sent_scale / stored_scale
    return None


def converted(value: float, by: float) -> float:
    """`value` times `by`, to 15 significant digits: 4.35 kWh is 4350 Wh, not 4349.999999999999."""
    return value if by == 1.0 else float(f"{value * by:.15g}")
