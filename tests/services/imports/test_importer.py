"""The batched run: batch boundaries, one transaction, modes, dry runs, the problem cap, the audit row."""

from __future__ import annotations

import pytest

from hes.db.enums import Role
from hes.db.tables import Area, AuditEntry, SimCard
from hes.errors import InvalidInput
from hes.runtime import Runtime
from hes.services.imports import ImportEntity, ImportMode, importer
from hes.services.principal import Principal
from tests.services.imports.conftest import CUSTOMER_HEADER, SIM_HEADER, count, csv_bytes, run_import

SIMS = ImportEntity.SIMCARDS


def _sim(n: int, **cells: str) -> str:
    values = {"simNumber": f"SIM-{n}", "iccid": f"89234010000{n:08d}", **cells}
    return ",".join(values.get(name, "") for name in SIM_HEADER.split(","))


async def test_duplicates_are_found_across_batches(runtime: Runtime) -> None:
    data = csv_bytes(SIM_HEADER, *(_sim(n) for n in range(7)), _sim(2, iccid="8923401000000000999"))
    report = await run_import(runtime, SIMS, data, mode=ImportMode.VALID_ONLY, batch_rows=3)
    assert (report.total_rows, report.imported, report.failed) == (8, 7, 1)
    (problem,) = report.errors
    assert (problem.row, problem.field, problem.value) == (9, "simNumber", "SIM-2")
    assert "row 4" in problem.message
    assert await count(runtime, SimCard) == 7


async def test_a_bad_row_in_a_late_batch_rolls_back_the_early_batches(runtime: Runtime) -> None:
    data = csv_bytes(SIM_HEADER, *(_sim(n) for n in range(6)), _sim(6, status="lost"))
    with pytest.raises(InvalidInput) as caught:
        await run_import(runtime, SIMS, data, batch_rows=2)
    assert [(problem.row, problem.field) for problem in caught.value.problems] == [(8, "status")]
    assert "1 of 7 rows" in caught.value.message
    assert await count(runtime, SimCard) == 0
    assert await count(runtime, AuditEntry) == 0


async def test_a_bad_byte_late_in_the_file_fails_even_valid_only(runtime: Runtime) -> None:
    data = csv_bytes(SIM_HEADER, *(_sim(n) for n in range(5))) + b"SIM-9,\xff\n"
    with pytest.raises(InvalidInput) as caught:
        await run_import(runtime, SIMS, data, mode=ImportMode.VALID_ONLY, batch_rows=2)
    assert "UTF-8" in caught.value.message and caught.value.problems[0].row == 7
    assert await count(runtime, SimCard) == 0


async def test_the_answer_lists_a_bounded_number_of_problems(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importer, "MAX_REPORTED_PROBLEMS", 3)
    data = csv_bytes(SIM_HEADER, *(_sim(n, status="lost", dataLimit="x") for n in range(4)), _sim(9))
    report = await run_import(runtime, SIMS, data, mode=ImportMode.VALID_ONLY)
    assert (report.failed, len(report.errors), report.errors_truncated) == (4, 3, True)
    with pytest.raises(InvalidInput) as caught:
        await run_import(runtime, SIMS, data)
    assert len(caught.value.problems) == 3 and "first 3 problems" in caught.value.message


async def test_one_audit_row_per_written_import_and_none_for_dry_runs(runtime: Runtime) -> None:
    data = csv_bytes(SIM_HEADER, *(_sim(n) for n in range(5)), _sim(0))
    dry = await run_import(runtime, SIMS, data, mode=ImportMode.VALID_ONLY, dry_run=True)
    assert (dry.dry_run, dry.imported, dry.failed) == (True, 5, 1)
    assert await count(runtime, AuditEntry) == 0 and await count(runtime, SimCard) == 0
    await run_import(runtime, SIMS, data, mode=ImportMode.VALID_ONLY, batch_rows=2)
    async with runtime.sessions() as session:
        from sqlalchemy import select

        entries = list(await session.scalars(select(AuditEntry)))
    assert len(entries) == 1
    entry = entries[0]
    assert (entry.actor, entry.action, entry.entity) == ("importer", "import", "sim_card")
    assert entry.details == {"mode": "valid-only", "totalRows": 6, "imported": 5, "failed": 1}


async def test_a_caller_limited_to_areas_imports_only_into_them(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        north, south = Area(code="NORTH", name="North"), Area(code="SOUTH", name="South")
        session.add_all([north, south])
        await session.commit()
    limited = Principal(user_id=2, username="north-op", role=Role.OPERATOR, area_ids=frozenset({north.id}))
    data = csv_bytes(CUSTOMER_HEADER, "A,ACC-1,,,,north,,,,", "B,ACC-2,,,,SOUTH,,,,", "C,ACC-3,,,,,,,,")
    report = await run_import(runtime, ImportEntity.CUSTOMERS, data, limited, mode=ImportMode.VALID_ONLY)
    assert report.imported == 1
    assert [(problem.row, problem.field) for problem in report.errors] == [(3, "area"), (4, "area")]
    assert "outside" in report.errors[0].message and "required" in report.errors[1].message
