"""The Hexing table's rules, on a small table in its format (tab-separated, quoted multi-line cells)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hes.obis import ObisCode
from hes.obis.build_profiles.hexing import parse_hexing

HEADER = (
    '"Function\n功能"\t"Class ID\n类"\t"Ver.\n版本"\t"FID2/\nIDIS/Hexing"\t"No."\t"Name"\t"Type"\t"OBIS"\t"D6"\t"D4"\t'
    '"Access Right"\t\t\t\t"Comments"\t"XML Comments"\t"Coding"\n'
    '\t\t\t\t\t\t\t\t\t\t"Public\n (16)"\t"Pre.Est.\n (102)"\t"Management\n (1)"\t"Reading\n (2)"\t\t\t\n'
)


def _row(*cells: str) -> str:
    return "\t".join([*cells, *[""] * (17 - len(cells))]) + "\n"


# The two header rows span ten lines (their cells hold line breaks): the first table row is line 11.
def _table(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "hexing-obis-functions.txt"
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    return path


THRESHOLD = [
    _row("电网质量//判断电流", "3", "0", "Hexing", "", "Threshold for over current", "", "1-0:11.35.0.255"),
    _row(
        "电网质量//判断电流",
        "3",
        "",
        "Hexing",
        "a1",
        "logical_name",
        "octet_string[6]",
        "01000B2300FF",
        "",
        "",
        "\\",
        "\\",
        "R",
        "R",
    ),
    _row(
        "电网质量//判断电流",
        "3",
        "",
        "Hexing",
        "a2",
        "value",
        "long_unsigned",
        '"3P CT: 161\n 1P: 115"',
        "",
        "",
        "\\",
        "W",
        "RW",
        "R",
    ),
    _row(
        "电网质量//判断电流",
        "3",
        "",
        "Hexing",
        "a3",
        "scaler_unit",
        "scal_unit_type",
        '"3P CT: {-3,33}\n 1P: {-2,33}"',
        "",
        "",
        "\\",
        "\\",
        "R",
        "R",
    ),
    _row("电网质量//判断电流", "3", "", "Hexing", "m1", "reset", "integer", "", "", "", "\\", "\\", "\\", "\\"),
]


def test_objects_members_rights_and_single_phase_values(tmp_path: Path) -> None:
    (spec,) = parse_hexing(_table(tmp_path, *THRESHOLD))
    assert (spec.obis, spec.class_id, spec.group) == (
        ObisCode.parse("1-0:11.35.0.255"),
        3,
        "Power quality / Current thresholds",
    )
    assert (spec.scaler, spec.unit) == (-2, 33)
    value = spec.attributes[2]
    assert (value.data_type, value.default, value.rights) == ("long-unsigned", "115", ("-", "W", "RW", "R"))
    assert spec.methods[1].rights == ("-", "-", "-", "-")


def test_deprecated_rows_are_left_out(tmp_path: Path) -> None:
    deprecated = _row(
        "电网质量//判断电压", "3", "废弃", "Hexing", "a2", "Old threshold", "long_unsigned", "1-0:12.130.0.255"
    )
    emptied = [
        _row("电网质量//电网质量", "1", "0", "Hexing", "", "Counter", "", "0-0:96.7.133.255"),
        _row("电网质量//电网质量", "1", "废弃", "Hexing", "a1", "logical_name", "octet_string[6]"),
    ]
    objects = parse_hexing(_table(tmp_path, deprecated, *emptied, *THRESHOLD))
    assert [str(spec.obis) for spec in objects] == ["1-0:11.35.0.255"]


def test_billing_period_codes_are_expanded(tmp_path: Path) -> None:
    rows = [
        _row(
            "电网质量//电网质量",
            "1",
            "0",
            "Hexing",
            "",
            "Overcurrent previous [y] month",
            "",
            "0-0:96.128.0.Y",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "1<=y<=12;101<=Y<=112",
        ),
        _row(
            "电网质量//电网质量",
            "1",
            "",
            "Hexing",
            "a1",
            "logical_name",
            "octet_string[6]",
            "",
            "",
            "",
            "\\",
            "\\",
            "R",
            "R",
        ),
    ]
    objects = parse_hexing(_table(tmp_path, *rows))
    assert [spec.obis.f for spec in objects] == list(range(101, 113))
    assert objects[0].name == "Overcurrent previous 1 month" and objects[-1].name == "Overcurrent previous 12 month"


def test_an_unknown_category_names_its_line(tmp_path: Path) -> None:
    row = _row("电网质量//未知", "3", "0", "Hexing", "", "Something", "", "1-0:11.36.0.255")
    with pytest.raises(ValueError, match=r"hexing-obis-functions\.txt line 11: category '未知'"):
        parse_hexing(_table(tmp_path, row))


def test_an_unknown_type_names_its_line(tmp_path: Path) -> None:
    rows = [*THRESHOLD[:1], _row("电网质量//判断电流", "3", "", "Hexing", "a2", "value", "mystery_type")]
    with pytest.raises(ValueError, match=r"line 12: 'mystery-type' is not a data type"):
        parse_hexing(_table(tmp_path, *rows))
