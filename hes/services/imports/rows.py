"""Reading one CSV row cell by cell: every problem in the row is collected, none stops the reading."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Generic, TypeVar

from sqlalchemy import String
from sqlalchemy.orm import InstrumentedAttribute

from hes import validation
from hes.services.imports.csv_source import SourceRow
from hes.services.imports.report import RowProblem

T = TypeVar("T")
DraftT = TypeVar("DraftT")
EnumT = TypeVar("EnumT", bound=Enum)

_INT32_MAX = 2**31 - 1
_SPELLING_NOISE = re.compile(r"[\s_\-/.]+")


def max_length(column: InstrumentedAttribute[Any]) -> int:
    """The declared length of a string column: longer values must be refused before PostgreSQL refuses them."""
    column_type = column.type
    assert isinstance(column_type, String) and column_type.length is not None
    return column_type.length


@dataclass
class ParsedRow(Generic[DraftT]):
    """A row after reading: its draft (failed cells left empty), the natural keys it names, its problems."""

    row: int
    draft: DraftT | None
    # (column, value) of the natural keys this row claims, even when the row fails: a later repeat is a duplicate.
    keys: list[tuple[str, str]]
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True while no problem has been found in the row."""
        return not self.problems

    def failed_on(self, column: str) -> bool:
        """True when `column` already has a problem (a repeat in the file is not also "already stored")."""
        return any(problem.field == column for problem in self.problems)

    def fail(self, column: str | None, reason: str, value: str | None = None) -> None:
        """Record a problem found after reading (duplicates, references)."""
        self.problems.append(RowProblem.at(self.row, column, reason, value))


class Cells:
    """The cells of one source row, read column by column into typed values."""

    def __init__(self, source: SourceRow) -> None:
        self.row = source.row
        self._cells = source.cells
        self.problems: list[RowProblem] = []
        self.keys: list[tuple[str, str]] = []
        if source.stray_values:
            self.problems.append(
                RowProblem.at(self.row, None, f"{source.stray_values} value(s) outside the template's columns")
            )

    def raw(self, column: str) -> str:
        """The trimmed cell ("" when empty or when the file has no such column)."""
        return self._cells.get(column, "")

    def fail(self, column: str, reason: str, value: str | None = None) -> None:
        """Record a problem in `column`."""
        self.problems.append(RowProblem.at(self.row, column, reason, value))

    def text(self, column: str, limit: int, *, required: bool = False) -> str | None:
        """Free text of at most `limit` characters; None when empty."""
        value = self._cells.get(column, "")
        if not value:
            if required:
                self.fail(column, "required")
            return None
        if len(value) > limit:
            self.fail(column, f"longer than {limit} characters", value)
            return None
        try:
            return validation.plain_text(value)
        except ValueError as error:
            self.fail(column, str(error), value)
            return None

    def check(
        self, column: str, checker: Callable[[str], T], *, required: bool = False, limit: int | None = None
    ) -> T | None:
        """The cell passed through `checker` (a hes.validation function or alike); None when empty or wrong."""
        value = self._cells.get(column, "")
        if not value:
            if required:
                self.fail(column, "required")
            return None
        try:
            checked = checker(value)
        except ValueError as error:
            self.fail(column, str(error), value)
            return None
        if limit is not None and isinstance(checked, str) and len(checked) > limit:
            self.fail(column, f"longer than {limit} characters", value)
            return None
        return checked

    def key(self, column: str, value: str | None) -> None:
        """Note a natural key the row claims, for duplicate detection across the file."""
        if value is not None:
            self.keys.append((column, value))

    def finish(self, draft: DraftT | None) -> ParsedRow[DraftT]:
        """The parsed row; its draft is kept even when cells failed, so database checks still report on the rest."""
        return ParsedRow(self.row, draft, self.keys, self.problems)


def choice(spellings: Mapping[str, EnumT]) -> Callable[[str], EnumT]:
    """A checker for an enum: case, spaces, '-', '_', '/' and '.' are ignored, so "Single Phase" is single-phase."""
    table = {_SPELLING_NOISE.sub("", spelling.lower()): member for spelling, member in spellings.items()}
    allowed = ", ".join(dict.fromkeys(str(member.value) for member in spellings.values()))

    def check(value: str) -> EnumT:
        member = table.get(_SPELLING_NOISE.sub("", value.lower()))
        if member is None:
            raise ValueError(f"use one of: {allowed}")
        return member

    return check


def spellings_of(enum_type: type[EnumT], **aliases: EnumT) -> dict[str, EnumT]:
    """Each member's value, plus extra accepted spellings (keyword names may not start with a digit: use `_1p`)."""
    table = {str(member.value): member for member in enum_type}
    table.update({alias.lstrip("_"): member for alias, member in aliases.items()})
    return table


def identifier(what: str) -> Callable[[str], str]:
    """A checker for an inventory identifier (SIM number, concentrator id): a meter number's shape."""

    def check(value: str) -> str:
        try:
            return validation.meter_number(value)
        except ValueError as error:
            raise ValueError(str(error).replace("must be", f"{what} is", 1)) from error

    return check


def whole_number(value: str) -> int:
    """A whole number >= 0 that fits the database's INTEGER."""
    if not (value.isascii() and value.isdigit()):
        raise ValueError("a whole number of 0 or more")
    number = int(value)
    if number > _INT32_MAX:
        raise ValueError(f"at most {_INT32_MAX}")
    return number
