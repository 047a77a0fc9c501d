"""Units of a COSEM scaler_unit (Blue Book, DLMS UA 1000-1 4.3.2 "unit" enumeration): code and symbol."""

from __future__ import annotations

__all__ = ["UNITLESS", "UNIT_SYMBOLS", "unit_code", "unit_symbol"]

# "count": no unit (a counter, a power factor); the code a scaler_unit carries for dimensionless values.
UNITLESS = 255

# The codes electricity meters use (time, angle, temperature, currency, electrical quantities, %), by symbol.
UNIT_SYMBOLS: dict[int, str] = {
    1: "a",
    2: "mo",
    3: "wk",
    4: "d",
    5: "h",
    6: "min",
    7: "s",
    8: "°",
    9: "°C",
    10: "currency",
    27: "W",
    28: "VA",
    29: "var",
    30: "Wh",
    31: "VAh",
    32: "varh",
    33: "A",
    34: "C",
    35: "V",
    36: "V/m",
    37: "F",
    38: "Ω",
    44: "Hz",
    45: "1/(Wh)",
    46: "1/(varh)",
    47: "1/(VAh)",
    48: "V²h",
    49: "A²h",
    52: "K",
    56: "%",
    57: "Ah",
    254: "other",
    UNITLESS: "unitless",
}
_CODES = {symbol: code for code, symbol in UNIT_SYMBOLS.items()}


def unit_code(symbol: str) -> int:
    """The unit code of a symbol ("Wh" -> 30).

    Raises:
        ValueError: a symbol outside the table.
    """
    try:
        return _CODES[symbol]
    except KeyError:
        raise ValueError(f"unit {symbol!r} is not a Blue Book unit symbol (e.g. Wh, V, A, Hz, unitless)") from None


def unit_symbol(code: int) -> str:
    """The symbol of a unit code; the number itself for a code outside the table."""
    return UNIT_SYMBOLS.get(code, str(code))
