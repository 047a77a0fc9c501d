"""Reading cells: text limits and markup, checkers, enum spellings, whole numbers, stray values."""

from __future__ import annotations

import pytest

from hes import validation
from hes.db.enums import SimStatus
from hes.services.imports.csv_source import SourceRow
from hes.services.imports.rows import Cells, choice, identifier, spellings_of, whole_number


def _cells(stray: int = 0, **values: str) -> Cells:
    return Cells(SourceRow(7, values, stray))


def test_text_is_trimmed_limited_and_free_of_markup() -> None:
    cells = _cells(name="Ada", long="x" * 41, markup="<b>Ada</b>", blank="")
    assert cells.text("name", 40) == "Ada"
    assert cells.text("long", 40) is None
    assert cells.text("markup", 40) is None
    assert cells.text("blank", 40, required=True) is None
    assert cells.text("absent", 40) is None
    assert [(p.row, p.field, p.message[:12]) for p in cells.problems] == [
        (7, "long", "longer than "),
        (7, "markup", "must not con"),
        (7, "blank", "required"),
    ]
    assert cells.problems[0].value == "x" * 41


def test_checker_errors_keep_the_value_cut_to_100_characters() -> None:
    cells = _cells(ip="9" * 150)
    assert cells.check("ip", validation.ip_address) is None
    (problem,) = cells.problems
    assert problem.value == "9" * 100 and "IPv4" in problem.message
    assert problem.as_wire() == {"message": problem.message, "row": 7, "field": "ip", "value": "9" * 100}


def test_a_row_with_problems_keeps_its_keys_and_draft_for_the_database_checks() -> None:
    cells = _cells(2)
    cells.key("simNumber", "SIM-1")
    cells.key("imsi", None)
    parsed = cells.finish("draft")
    assert parsed.draft == "draft" and parsed.keys == [("simNumber", "SIM-1")] and not parsed.ok
    assert "2 value(s) outside" in parsed.problems[0].message


def test_enum_spellings_ignore_case_spaces_and_punctuation() -> None:
    status = choice(spellings_of(SimStatus, enabled=SimStatus.ACTIVE))
    assert status("Active") is SimStatus.ACTIVE
    assert status(" ENABLED ") is SimStatus.ACTIVE
    assert status("in-active") is SimStatus.INACTIVE
    with pytest.raises(ValueError, match="active, inactive, suspended, available"):
        status("lost")


@pytest.mark.parametrize(("value", "expected"), [("0", 0), ("50", 50), ("2147483647", 2147483647)])
def test_whole_numbers(value: str, expected: int) -> None:
    assert whole_number(value) == expected


@pytest.mark.parametrize("value", ["-5", "1.5", "1e3", "²", "2147483648"])
def test_not_whole_numbers(value: str) -> None:
    with pytest.raises(ValueError):
        whole_number(value)


def test_identifiers_say_what_they_are() -> None:
    with pytest.raises(ValueError, match=r"^a SIM number is 1-32"):
        identifier("a SIM number")("+234 803")
    with pytest.raises(ValueError, match="scientific"):
        identifier("a SIM number")("8.9E+18")
