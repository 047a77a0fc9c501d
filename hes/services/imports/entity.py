"""The three steps every kind of import goes through: read a row, check a batch against the database, write it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import ClassVar, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from hes.services.imports.csv_source import SourceRow
from hes.services.imports.references import ImportContext
from hes.services.imports.rows import Cells, DraftT, ParsedRow
from hes.services.imports.templates import Template

ReadyT = TypeVar("ReadyT")


class EntityImporter(ABC, Generic[DraftT, ReadyT]):
    """One kind of import: `read` runs in a worker thread per row, `check` and `write` per batch in one transaction."""

    template: ClassVar[Template]
    # Columns whose values may appear once in a file, and what a repeat says ({row}: where it first appeared).
    unique_columns: ClassVar[Mapping[str, str]]
    # Name of the entity in the audit log.
    audit_entity: ClassVar[str]

    def __init__(self, context: ImportContext) -> None:
        self.context = context
        # Keys seen earlier in the file and the row that had them: the only state kept across batches.
        self._first_rows: dict[str, dict[str, int]] = {column: {} for column in self.unique_columns}

    def parse(self, source: SourceRow) -> ParsedRow[DraftT]:
        """Read one row's cells (no database access)."""
        cells = Cells(source)
        draft = self.read(cells)
        return cells.finish(draft)

    @abstractmethod
    def read(self, cells: Cells) -> DraftT | None:
        """The row's draft, or None; problems and natural keys are recorded on `cells`."""

    def claim_keys(self, rows: Sequence[ParsedRow[DraftT]]) -> None:
        """Mark repeats of a natural key within the file; the second occurrence names the first row."""
        for parsed in rows:
            for column, value in parsed.keys:
                seen = self._first_rows[column]
                first = seen.setdefault(value, parsed.row)
                if first != parsed.row:
                    parsed.fail(column, self.unique_columns[column].format(row=first), value)

    @abstractmethod
    async def check(self, session: AsyncSession, rows: Sequence[ParsedRow[DraftT]]) -> list[ReadyT]:
        """Check the rows still fine against the database (one query per key); what is ready to write."""

    @abstractmethod
    async def write(self, session: AsyncSession, ready: Sequence[ReadyT]) -> None:
        """Insert a checked batch and its links, without committing."""


def drafted(rows: Sequence[ParsedRow[DraftT]]) -> list[tuple[ParsedRow[DraftT], DraftT]]:
    """Rows with their drafts, failed ones included: the database checks report every problem of a row at once.

    A cell that failed to read is empty in the draft, so it is never looked up; only rows still `ok` after the
    checks are written.
    """
    return [(parsed, parsed.draft) for parsed in rows if parsed.draft is not None]
