"""Wire schemas of CSV imports."""

from __future__ import annotations

from pydantic import Field

from hes.api.schemas.common import CamelModel
from hes.services.imports import ImportEntity, ImportMode, ImportReport, RowProblem


class ImportProblemOut(CamelModel):
    """What is wrong in one cell (or row) of the file."""

    row: int = Field(description="Spreadsheet row: the header is row 1, the first data row is row 2")
    column: str | None = Field(description="Header of the column, or null for the row as a whole")
    reason: str
    value: str | None = Field(description="The offending value, cut to 100 characters")

    @classmethod
    def of(cls, problem: RowProblem) -> ImportProblemOut:
        """The wire form of a row problem."""
        return cls(row=problem.row or 0, column=problem.field, reason=problem.message, value=problem.value)


class ImportReportOut(CamelModel):
    """Outcome of an import."""

    entity: ImportEntity
    mode: ImportMode
    dry_run: bool
    total_rows: int = Field(description="Data rows in the file (blank rows not counted)")
    imported: int = Field(description="Rows written; in a dry run, rows that would be written")
    failed: int = Field(description="Rows not imported because of a problem")
    errors: list[ImportProblemOut]
    errors_truncated: bool = Field(description="True when there were more problems than `errors` lists")

    @classmethod
    def of(cls, report: ImportReport) -> ImportReportOut:
        """The wire form of an import report."""
        return cls(
            entity=report.entity,
            mode=report.mode,
            dry_run=report.dry_run,
            total_rows=report.total_rows,
            imported=report.imported,
            failed=report.failed,
            errors=[ImportProblemOut.of(problem) for problem in report.errors],
            errors_truncated=report.errors_truncated,
        )
