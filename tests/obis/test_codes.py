"""The OBIS code value type: every accepted spelling, the one printed form, and refusals of garbage."""

from __future__ import annotations

import pytest

from hes.obis import ObisCode


@pytest.mark.parametrize(
    ("spelling", "groups"),
    [
        ("1-0:1.8.0.255", (1, 0, 1, 8, 0, 255)),
        ("1-0:1.8.0*255", (1, 0, 1, 8, 0, 255)),
        ("1.0.1.8.0.255", (1, 0, 1, 8, 0, 255)),
        ("  1-0:32.7.0.255\n", (1, 0, 32, 7, 0, 255)),
        ("0-0:96.1.0.255", (0, 0, 96, 1, 0, 255)),
        ("0.0.1.0.0.255", (0, 0, 1, 0, 0, 255)),
        ("255-255:255.255.255.255", (255,) * 6),
        ("001-000:001.008.000.255", (1, 0, 1, 8, 0, 255)),
        (b"\x01\x00\x01\x08\x00\xff", (1, 0, 1, 8, 0, 255)),
        (bytearray(b"\x00\x00\x60\x01\x00\xff"), (0, 0, 96, 1, 0, 255)),
        (memoryview(b"\x01\x00\x1f\x07\x00\xff"), (1, 0, 31, 7, 0, 255)),
    ],
)
def test_parse_accepts_the_usual_spellings(spelling: str | bytes, groups: tuple[int, ...]) -> None:
    assert ObisCode.parse(spelling) == ObisCode(*groups)


@pytest.mark.parametrize(
    ("code", "printed"),
    [
        (ObisCode(1, 0, 1, 8, 0, 255), "1-0:1.8.0.255"),
        (ObisCode(0, 0, 96, 1, 0, 255), "0-0:96.1.0.255"),
        (ObisCode(1, 0, 99, 1, 0, 255), "1-0:99.1.0.255"),
    ],
)
def test_str_is_the_display_form_and_round_trips(code: ObisCode, printed: str) -> None:
    assert str(code) == printed
    assert ObisCode.parse(printed) == code
    assert ObisCode.parse(code.to_bytes()) == code
    assert ObisCode.parse(code) is code


@pytest.mark.parametrize(
    ("garbage", "says"),
    [
        ("", "is not an OBIS code"),
        ("   ", "is not an OBIS code"),
        ("hello", "'hello' is not an OBIS code"),
        ("1-0:1.8.0", "is not an OBIS code"),
        ("1-0:1.8.0.255.1", "is not an OBIS code"),
        ("1.0.1.8.0", "is not an OBIS code"),
        ("1-0:1.8.0.256", "group F must be an integer 0-255"),
        ("1000-0:1.8.0.255", "is not an OBIS code"),
        ("-1-0:1.8.0.255", "is not an OBIS code"),
        ("1-0:1.8.0.ff", "is not an OBIS code"),
        ("\u0661-0:1.8.0.255", "is not an OBIS code"),  # an Arabic-Indic digit is not a group value
        ("1-0:1.8.0.255; DROP TABLE readings", "is not an OBIS code"),
        ("x" * 500, "..."),
        (b"\x01\x00\x01\x08\x00", "6 bytes, not 5"),
        (b"", "6 bytes, not 0"),
        (12345, "text or 6 bytes, not int"),
        (None, "text or 6 bytes, not NoneType"),
    ],
)
def test_parse_refuses_garbage_with_a_clear_message(garbage: object, says: str) -> None:
    with pytest.raises(ValueError) as refused:
        ObisCode.parse(garbage)  # type: ignore[arg-type]
    assert says in str(refused.value)


@pytest.mark.parametrize("groups", [(1, 0, 1, 8, 0, 256), (-1, 0, 1, 8, 0, 255), (1, 0, 1.5, 8, 0, 255)])
def test_constructor_checks_each_group(groups: tuple[object, ...]) -> None:
    with pytest.raises(ValueError, match="must be an integer 0-255"):
        ObisCode(*groups)  # type: ignore[arg-type]


def test_codes_are_frozen_hashable_and_ordered() -> None:
    energy, voltage = ObisCode.parse("1-0:1.8.0.255"), ObisCode.parse("1-0:32.7.0.255")
    assert {energy: "kWh"}[ObisCode(1, 0, 1, 8, 0, 255)] == "kWh"
    assert sorted([voltage, energy]) == [energy, voltage]
    with pytest.raises(AttributeError):
        energy.c = 2  # type: ignore[misc]
