"""Row problems on the wire: row, column, reason and the offending value, cut to 100 characters."""

from __future__ import annotations

from hes.services.imports.report import RowProblem


def test_a_row_problem_carries_its_value_cut_short() -> None:
    problem = RowProblem.at(5, "ipAddress", "not an IPv4 or IPv6 address", "x" * 250)
    assert problem.value == "x" * 100
    assert problem.as_wire() == {
        "message": "not an IPv4 or IPv6 address",
        "row": 5,
        "field": "ipAddress",
        "value": "x" * 100,
    }


def test_a_problem_without_value_or_column_leaves_them_out() -> None:
    assert RowProblem.at(1, None, "unreadable CSV").as_wire() == {"message": "unreadable CSV", "row": 1}
