"""One CSV import, streamed and batched, in one transaction committed once (or not at all)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator, Mapping
from typing import IO, Any

from sqlalchemy.ext.asyncio import AsyncSession

from hes.db.store import audit
from hes.db.store import imports as store
from hes.db.tables import utc_now
from hes.errors import InvalidInput
from hes.services.imports.csv_source import CsvSource, SourceRow
from hes.services.imports.customers import CustomerImporter
from hes.services.imports.entity import EntityImporter
from hes.services.imports.meters import MeterImporter
from hes.services.imports.references import AreaLookup, ImportContext
from hes.services.imports.report import ImportEntity, ImportMode, ImportReport, RowProblem
from hes.services.imports.rows import ParsedRow
from hes.services.imports.simcards import SimCardImporter
from hes.services.principal import Principal

# Rows read, checked and written together: one lookup query per natural key and one INSERT per batch. Large
# enough that round trips stop mattering, small enough that a batch is a few MB of Python objects.
BATCH_ROWS = 2000
# An answer lists at most this many problems (a wrong date format in a 100k-row file would otherwise answer
# with 100k entries); `failed` still counts every failing row.
MAX_REPORTED_PROBLEMS = 10_000

_IMPORTERS: Mapping[ImportEntity, type[EntityImporter[Any, Any]]] = {
    ImportEntity.SIMCARDS: SimCardImporter,
    ImportEntity.CUSTOMERS: CustomerImporter,
    ImportEntity.METERS: MeterImporter,
}


class _Tally:
    """Counts and problems of the rows seen so far."""

    def __init__(self) -> None:
        self.total = 0
        self.failed = 0
        self.valid = 0
        self.problems: list[RowProblem] = []
        self.truncated = False

    def add(self, batch: list[ParsedRow[Any]], valid: int) -> None:
        self.total += len(batch)
        self.valid += valid
        for parsed in batch:
            if not parsed.problems:
                continue
            self.failed += 1
            room = MAX_REPORTED_PROBLEMS - len(self.problems)
            if room < len(parsed.problems):
                self.truncated = True
            self.problems.extend(parsed.problems[: max(room, 0)])


async def import_csv(
    session: AsyncSession,
    principal: Principal,
    entity: ImportEntity,
    source: IO[bytes],
    *,
    mode: ImportMode = ImportMode.ALL_OR_NOTHING,
    dry_run: bool = False,
    batch_rows: int = BATCH_ROWS,
) -> ImportReport:
    """Import a CSV file of customers, meters or SIM cards (a binary stream, read once, never held whole).

    Rows are read and validated in a worker thread a batch at a time, checked against the database with one
    query per natural key and batch, and bulk-inserted; the transaction is committed once at the end, with
    one audit row. In all-or-nothing mode any failing row rolls everything back; a dry run writes nothing.

    Raises:
        InvalidInput: the file is empty, not UTF-8, unreadable as CSV, has missing or unknown headers or no data
            rows; or (all-or-nothing mode, dry run or not) some rows fail: every row, column and reason listed.
    """
    importer_type = _IMPORTERS[entity]
    try:
        source_rows = await asyncio.to_thread(CsvSource, source, importer_type.template)
        areas = AreaLookup(await store.area_keys(session), principal)
        importer = importer_type(ImportContext(principal, areas, utc_now()))
        tally = await _run(session, importer, iter(source_rows), mode, dry_run, batch_rows)
    except Exception:
        await session.rollback()
        raise
    if tally.total == 0:
        await session.rollback()
        raise InvalidInput("the file has a header row but no data rows")
    if mode is ImportMode.ALL_OR_NOTHING and tally.failed:
        await session.rollback()
        listed = f"; the first {len(tally.problems)} problems are listed" if tally.truncated else ""
        raise InvalidInput(
            f"{tally.failed} of {tally.total} rows have problems; nothing was imported{listed}", tally.problems
        )
    report = ImportReport(
        entity=entity,
        mode=mode,
        dry_run=dry_run,
        total_rows=tally.total,
        imported=tally.valid,
        failed=tally.failed,
        errors=tuple(tally.problems),
        errors_truncated=tally.truncated,
    )
    if dry_run:
        await session.rollback()
        return report
    details = {"mode": str(mode), "totalRows": tally.total, "imported": tally.valid, "failed": tally.failed}
    audit.record(session, principal.username, "import", importer.audit_entity, None, details)
    await session.commit()
    return report


async def _run(
    session: AsyncSession,
    importer: EntityImporter[Any, Any],
    source_rows: Iterator[SourceRow],
    mode: ImportMode,
    dry_run: bool,
    batch_rows: int,
) -> _Tally:
    """Read, check and (unless pointless) write batch after batch; the next batch is read while this one is written."""
    tally = _Tally()
    next_batch = asyncio.ensure_future(asyncio.to_thread(_read_batch, importer, source_rows, batch_rows))
    try:
        while batch := await next_batch:
            # Reading only touches the file and the row's own cells, so it may run beside the database work.
            next_batch = asyncio.ensure_future(asyncio.to_thread(_read_batch, importer, source_rows, batch_rows))
            importer.claim_keys(batch)
            ready = await importer.check(session, batch)
            tally.add(batch, len(ready))
            # All-or-nothing: once a row failed, everything will be rolled back, so stop writing (keep checking).
            if ready and not dry_run and (mode is ImportMode.VALID_ONLY or not tally.failed):
                await importer.write(session, ready)
    finally:
        # A worker thread cannot be cancelled: let a read in flight finish before the caller closes the file.
        await asyncio.wait([next_batch])
        if not next_batch.cancelled():
            next_batch.exception()  # retrieved: a failed read-ahead after another failure is not worth a log line
    return tally


def _read_batch(
    importer: EntityImporter[Any, Any], source_rows: Iterator[SourceRow], size: int
) -> list[ParsedRow[Any]]:
    """Up to `size` rows read and validated cell by cell (runs in a worker thread: file reads and CPU only)."""
    return [importer.parse(row) for row in itertools.islice(source_rows, size)]
