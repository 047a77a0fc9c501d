"""Duplicate keys within a file: the repeat names the first row, and a failing row still claims its keys."""

from __future__ import annotations

from datetime import UTC, datetime

from hes.db.enums import Role
from hes.services.imports.csv_source import SourceRow
from hes.services.imports.references import AreaLookup, ImportContext
from hes.services.imports.simcards import SimCardImporter
from hes.services.principal import Principal


def _importer() -> SimCardImporter:
    principal = Principal(1, "op", Role.OPERATOR)
    return SimCardImporter(ImportContext(principal, AreaLookup([], principal), datetime.now(UTC)))


def test_repeats_name_the_first_row_even_when_that_row_failed() -> None:
    importer = _importer()
    first = importer.parse(SourceRow(2, {"simNumber": "S1", "iccid": "8900000000000000001", "status": "lost"}))
    assert not first.ok and first.keys == [("simNumber", "S1"), ("iccid", "8900000000000000001")]
    second = importer.parse(SourceRow(3, {"simNumber": "S1", "iccid": "8900000000000000002"}))
    importer.claim_keys([first])
    importer.claim_keys([second])  # a later batch: the first row is remembered across batches
    assert [(p.row, p.field, p.message, p.value) for p in second.problems] == [
        (3, "simNumber", "the SIM number repeats row 2", "S1")
    ]
    assert [p.field for p in first.problems] == ["status"]
