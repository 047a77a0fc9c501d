"""Reading an uploaded CSV as a stream: UTF-8 (BOM or not), comma or semicolon, headers matched to a template.

Nothing here holds the file: bytes are decoded in chunks and handed line by line to `csv.reader`, which yields
one record at a time. Runs in a worker thread (blocking file reads); it does no database work.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from typing import IO, NamedTuple

from hes.errors import InvalidInput
from hes.services.imports.report import RowProblem
from hes.services.imports.templates import Template

# Bytes decoded at a time: large enough for few calls, small enough to be nothing next to a 100k-row file.
_CHUNK_BYTES = 64 * 1024
# csv's own cap on one field (128 KiB by default) also bounds memory when a quote is never closed.
_DELIMITERS = (",", ";")
# One physical line of a real import is a few hundred characters; this only stops a file without line breaks
# from being read whole into memory.
_MAX_LINE_CHARS = 4 * 1024 * 1024
_SAVE_AS_UTF8 = "save it as 'CSV UTF-8' (Excel: File > Save As > CSV UTF-8 (Comma delimited))"


class SourceRow(NamedTuple):
    """One data row: its spreadsheet row number (header = 1) and its cells keyed by template header."""

    row: int
    cells: dict[str, str]
    # Values found beyond the last header (or under a blank header): a row problem, not silently dropped.
    stray_values: int = 0


class _Position:
    """How far decoding got, to say where a bad byte is."""

    def __init__(self) -> None:
        self.rows_read = 0


class CsvSource:
    """The data rows of one CSV file, after its header has been checked against a template.

    Raises (from `open` and while iterating):
        InvalidInput: empty file, missing or unknown headers, bytes that are not UTF-8, unreadable CSV.
    """

    def __init__(self, binary: IO[bytes], template: Template) -> None:
        self._position = _Position()
        lines = _decoded_lines(binary, self._position)
        first = self._first_line(lines)
        # Excel writes (and reads) a "sep=;" line to say which delimiter a file uses; it shows no row for it.
        declared = first.strip() if first is not None else ""
        sep_line = len(declared) == 5 and declared.lower().startswith("sep=") and declared[4] in _DELIMITERS
        if sep_line:
            first = self._first_line(lines)
        if first is None:
            raise InvalidInput("the file is empty; it needs a header row and at least one data row")
        delimiter = declared[4] if sep_line else sniff_delimiter(first)
        self._reader = csv.reader(_chain(first, lines), delimiter=delimiter)
        header = self._next_record()
        assert header is not None  # `first` is a non-blank line
        self.delimiter = delimiter
        self._columns = match_headers(header, template)

    def __iter__(self) -> Iterator[SourceRow]:
        """Data rows in file order; rows whose cells are all blank (Excel leaves some at the end) are skipped."""
        width = len(self._columns)
        unnamed = [index for index, name in enumerate(self._columns) if not name]
        while (record := self._next_record()) is not None:
            values = [value.strip() for value in record]
            if not any(values):
                continue
            stray = sum(1 for value in values[width:] if value) if len(values) > width else 0
            if unnamed:
                stray += sum(1 for index in unnamed if index < len(values) and values[index])
            # zip stops at the shorter: a short row simply lacks its last cells, which read as empty.
            yield SourceRow(self._position.rows_read, dict(zip(self._columns, values, strict=False)), stray)

    def _first_line(self, lines: Iterator[str]) -> str | None:
        """The next non-blank line; blank lines above the header are still spreadsheet rows."""
        line = next(lines, None)
        while line is not None and not line.strip():
            self._position.rows_read += 1
            line = next(lines, None)
        return line

    def _next_record(self) -> list[str] | None:
        try:
            record = next(self._reader, None)
        except csv.Error as error:
            row = self._position.rows_read + 1
            raise InvalidInput(
                "the file is not readable as CSV", [RowProblem.at(row, None, f"unreadable CSV: {error}")]
            ) from error
        if record is not None:
            self._position.rows_read += 1
        return record


def sniff_delimiter(header_line: str) -> str:
    """Comma or semicolon (Excel in many European locales): whichever the header line uses more, outside quotes."""
    counts = dict.fromkeys(_DELIMITERS, 0)
    quoted = False
    for character in header_line:
        if character == '"':
            quoted = not quoted
        elif not quoted and character in counts:
            counts[character] += 1
    return max(_DELIMITERS, key=lambda delimiter: counts[delimiter])


def match_headers(header: list[str], template: Template) -> list[str]:
    """The template header of each file column ("" for a blank header cell), matched trimmed and case-insensitive.

    Raises:
        InvalidInput: required headers missing, unknown or repeated headers; every one is named.
    """
    known = {name.lower(): name for name in template.headers}
    columns: list[str] = []
    problems: list[RowProblem] = []
    for raw in header:
        label = raw.strip()
        name = known.get(label.lower(), "")
        if label and not name:
            problems.append(RowProblem.at(1, label, f"unknown column; the template has: {', '.join(template.headers)}"))
        elif name and name in columns:
            problems.append(RowProblem.at(1, name, "column appears more than once"))
        columns.append(name)
    problems.extend(
        RowProblem.at(1, name, "required column is missing") for name in template.required if name not in columns
    )
    if problems:
        named = ", ".join(problem.field or "" for problem in problems)
        raise InvalidInput(f"the header row does not match the {template.entity} template: {named}", problems)
    return columns


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


def _decoded_lines(binary: IO[bytes], position: _Position) -> Iterator[str]:
    """Lines of text with "\\n" endings (CRLF and lone CR translated), decoded strictly as UTF-8, BOM dropped.

    A bad byte raises InvalidInput naming its byte offset and the row it is in; lines before it are yielded
    first, so `position.rows_read` counts exactly the records before that row.
    """
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    newlines = io.IncrementalNewlineDecoder(None, translate=True)
    offset = 0
    pending = ""
    at_start = True
    while True:
        chunk = binary.read(_CHUNK_BYTES)
        final = not chunk
        buffered = len(decoder.getstate()[0])
        try:
            text = decoder.decode(chunk, final=final)
        except UnicodeDecodeError as error:
            # error.start counts from the bytes the decoder still held from the previous chunk.
            bad_at = offset - buffered + error.start
            valid = error.object[: error.start].decode("utf-8")
            if at_start:
                valid = valid.removeprefix("\ufeff")
            yield from (line + "\n" for line in (pending + newlines.decode(valid)).split("\n")[:-1])
            raise _not_utf8(bad_at, error.object[error.start], position.rows_read + 1) from error
        offset += len(chunk)
        if at_start and text:
            text = text.removeprefix("\ufeff")
            at_start = False
        text = newlines.decode(text, final=final)
        if "\x00" in text:
            # Valid UTF-8 but never in a text CSV; usually a UTF-16 ("Unicode Text") export. PostgreSQL refuses NUL.
            yield from (line + "\n" for line in (pending + text).split("\x00", 1)[0].split("\n")[:-1])
            raise InvalidInput(
                "the file contains NUL characters (is it UTF-16?)",
                [RowProblem.at(position.rows_read + 1, None, f"NUL character; {_SAVE_AS_UTF8}")],
            )
        pending += text
        if "\n" in pending:
            *complete, pending = pending.split("\n")
            for line in complete:
                yield line + "\n"
        if len(pending) > _MAX_LINE_CHARS:
            raise InvalidInput(
                "a line of the file is too long",
                [RowProblem.at(position.rows_read + 1, None, f"line longer than {_MAX_LINE_CHARS} characters")],
            )
        if final:
            if pending:
                yield pending
            return


def _not_utf8(offset: int, byte: int, row: int) -> InvalidInput:
    reason = f"byte 0x{byte:02X} at offset {offset} is not UTF-8; {_SAVE_AS_UTF8}"
    return InvalidInput(f"the file is not UTF-8 (byte offset {offset}, row {row})", [RowProblem.at(row, None, reason)])
