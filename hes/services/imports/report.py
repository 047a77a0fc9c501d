"""What an import is asked to do and what it answers: entity, mode, row problems, the report."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from hes.errors import Problem

# Longest offending value echoed back in a problem: enough to recognise it, not a way to reflect whole files.
MAX_VALUE_CHARS = 100


class ImportEntity(StrEnum):
    """What a CSV file holds; also the name of its template."""

    CUSTOMERS = "customers"
    METERS = "meters"
    SIMCARDS = "simcards"


class ImportMode(StrEnum):
    """All rows or none (default), or the valid rows with the others reported."""

    ALL_OR_NOTHING = "all-or-nothing"
    VALID_ONLY = "valid-only"


@dataclass(frozen=True)
class RowProblem(Problem):
    """A problem in one spreadsheet row (header = row 1): `field` is the column header, `value` what it held."""

    value: str | None = None

    @classmethod
    def at(cls, row: int, column: str | None, reason: str, value: str | None = None) -> RowProblem:
        """A problem at `row`/`column`, with the offending value cut to MAX_VALUE_CHARS."""
        shown = None if value is None else value[:MAX_VALUE_CHARS]
        return cls(reason, field=column, row=row, value=shown)

    def as_wire(self) -> dict[str, object]:
        """The problem in an error answer's `details`, with the offending value when there is one."""
        wire = super().as_wire()
        if self.value is not None:
            wire["value"] = self.value
        return wire


@dataclass(frozen=True)
class ImportReport:
    """Outcome of an import: counts of data rows, and the problems of the rows that were not imported."""

    entity: ImportEntity
    mode: ImportMode
    dry_run: bool
    total_rows: int
    # Rows written; in a dry run, rows that would have been written.
    imported: int
    failed: int
    errors: tuple[RowProblem, ...]
    # True when there were more problems than an answer lists (`failed` still counts every failing row).
    errors_truncated: bool = False
