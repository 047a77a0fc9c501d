"""Reading CSV uploads: encodings, delimiters, quoting, line endings, headers, and where a bad byte is."""

from __future__ import annotations

import io

import pytest

from hes.errors import InvalidInput
from hes.services.imports import TEMPLATES, ImportEntity
from hes.services.imports.csv_source import CsvSource, SourceRow, sniff_delimiter

SIMS = TEMPLATES[ImportEntity.SIMCARDS]
CUSTOMERS = TEMPLATES[ImportEntity.CUSTOMERS]


def _rows(data: bytes, template: object = SIMS) -> list[SourceRow]:
    return list(CsvSource(io.BytesIO(data), template))  # type: ignore[arg-type]


def _problem(data: bytes, template: object = SIMS) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        _rows(data, template)
    return caught.value


def test_excel_file_with_bom_semicolons_quotes_and_crlf() -> None:
    data = (
        "\ufeffcustomerName;accountNumber;address\r\n"
        'Ada Obi;ACC-1;"12 Ring Road; Ibadan"\r\n'
        '"Femi ""F"" Lawal";ACC-2;"Flat 3\r\nDugbe"\r\n'
        "Tolu;ACC-3;\r\n"
    ).encode()
    rows = _rows(data, CUSTOMERS)
    assert [row.row for row in rows] == [2, 3, 4]
    assert rows[0].cells == {"customerName": "Ada Obi", "accountNumber": "ACC-1", "address": "12 Ring Road; Ibadan"}
    assert rows[1].cells["customerName"] == 'Femi "F" Lawal'
    assert rows[1].cells["address"] == "Flat 3\nDugbe"
    assert rows[2].cells["address"] == ""


def test_lone_cr_line_endings_and_lf_without_final_newline() -> None:
    assert [row.cells["simNumber"] for row in _rows(b"simNumber,iccid\rS1,8900000000000000001\rS2,x")] == ["S1", "S2"]
    assert [row.row for row in _rows(b"simNumber,iccid\nS1,1\n\n\nS2,2")] == [2, 5]


def test_headers_are_trimmed_and_case_insensitive_and_optional_columns_may_be_left_out() -> None:
    rows = _rows(b" SIMNUMBER , IccId \nS1,8900000000000000001\n")
    assert rows[0].cells == {"simNumber": "S1", "iccid": "8900000000000000001"}


def test_blank_rows_are_skipped_but_still_counted_and_stray_values_noted() -> None:
    rows = _rows(b"simNumber,iccid\n,\n;;\nS1,1,extra\n,,\n")
    assert [(row.row, row.stray_values) for row in rows] == [(3, 0), (4, 1)]


@pytest.mark.parametrize(
    ("header", "named"),
    [
        (b"iccid,imsi", {"simNumber"}),
        (b"simNumber,iccid,colour", {"colour"}),
        (b"simNumber,iccid,ICCID", {"iccid"}),
        (b"simnumber;colour;size", {"iccid", "colour", "size"}),
    ],
)
def test_missing_unknown_or_repeated_headers_are_all_named(header: bytes, named: set[str]) -> None:
    error = _problem(header + b"\nS1,1\n")
    assert {problem.field for problem in error.problems} == named
    assert all(problem.row == 1 for problem in error.problems)
    assert all(name in error.message for name in named)


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"\r\n\r\n  \n"])
def test_an_empty_file_is_refused(data: bytes) -> None:
    assert "empty" in _problem(data).message


def test_a_byte_that_is_not_utf8_is_located_by_offset_and_row() -> None:
    data = b'simNumber,iccid\nS1,1\n"S2\n",2\nS3,caf' + b"\xe9" + b"\nS4,4\n"
    error = _problem(data)
    offset = data.index(b"\xe9")
    assert f"byte offset {offset}" in error.message and "row 4" in error.message
    assert error.problems[0].row == 4 and "0xE9" in error.problems[0].message


def test_offsets_stay_exact_across_chunks_and_split_characters() -> None:
    # A 3-byte character straddles the 64 KiB chunk boundary (valid), then a bad byte follows.
    prefix = "simNumber,iccid\n" + "S1,1\n" * ((64 * 1024 - 100) // 5)
    padding = "x" * (64 * 1024 - 1 - len(prefix) - len("S2,"))
    data = (prefix + "S2," + padding + "\u20ac\n").encode() + b"S3,\xff\n"
    assert data.index("\u20ac".encode()) == 64 * 1024 - 1
    offset = data.index(b"\xff")
    error = _problem(data)
    assert f"byte offset {offset}" in error.message
    assert error.problems[0].row == prefix.count("\n") + 2


def test_utf16_exports_are_refused_with_a_hint() -> None:
    assert "UTF-8" in _problem("simNumber,iccid\nS1,1\n".encode("utf-16")).message
    assert "NUL" in _problem("simNumber,iccid\nS1,1\n".encode("utf-16-le")).message


def test_delimiter_is_what_the_header_uses_outside_quotes() -> None:
    assert sniff_delimiter("a;b;c") == ";"
    assert sniff_delimiter('"a,b";c;d') == ";"
    assert sniff_delimiter("a,b;c,d") == ","
    assert sniff_delimiter("single") == ","


def test_an_excel_sep_line_names_the_delimiter_and_is_no_row() -> None:
    rows = _rows(b"sep=;\r\nsimNumber;iccid\r\nS1,x;1\r\n")
    assert [(row.row, row.cells) for row in rows] == [(2, {"simNumber": "S1,x", "iccid": "1"})]
    assert "empty" in _problem(b"sep=,\r\n").message
