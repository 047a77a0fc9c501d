"""SIM card rows: identifiers, formats, defaults and uniqueness of number, ICCID and IMSI."""

from __future__ import annotations

from sqlalchemy import select

from hes.db.enums import SimStatus
from hes.db.tables import SimCard
from hes.runtime import Runtime
from hes.services.imports import ImportEntity, ImportMode
from tests.services.imports.conftest import SIM_HEADER, count, csv_bytes, one, run_import

SIMS = ImportEntity.SIMCARDS


async def test_values_are_normalised_and_defaults_applied(runtime: Runtime) -> None:
    row = "SIM-1,8923401000000000001,621301000000001,+234 803-000-0001,MTN,Suspended,2001:DB8:0::1,hes.ng,0,01/02/2024"
    await run_import(runtime, SIMS, csv_bytes(SIM_HEADER, row, "SIM-2,8923401000000000002,,,,,,,,"))
    first = await one(runtime, select(SimCard).where(SimCard.sim_number == "SIM-1"))
    assert (first.msisdn, first.status, first.ip_address, first.data_limit_mb, str(first.activation_date)) == (
        "+2348030000001",
        SimStatus.SUSPENDED,
        "2001:db8::1",
        0,
        "2024-02-01",
    )
    assert await one(runtime, select(SimCard.status).where(SimCard.sim_number == "SIM-2")) == SimStatus.AVAILABLE


async def test_number_iccid_and_imsi_are_unique_in_the_file_and_the_database(runtime: Runtime) -> None:
    await run_import(runtime, SIMS, csv_bytes(SIM_HEADER, "SIM-1,8923401000000000001,621301000000001,,,,,,,"))
    data = csv_bytes(
        SIM_HEADER,
        "SIM-2,8923401000000000002,621301000000002,,,,,,,",
        "SIM-3,8923401000000000002,621301000000002,,,,,,,",
        "SIM-1,8923401000000000004,621301000000001,,,,,,,",
        "SIM-5,8923401000000000005,,,,,,bad apn!,99999999,",
    )
    report = await run_import(runtime, SIMS, data, mode=ImportMode.VALID_ONLY)
    assert [(p.row, p.field) for p in report.errors] == [
        (3, "iccid"),
        (3, "imsi"),
        (4, "simNumber"),
        (4, "imsi"),
        (5, "apn"),
        (5, "dataLimit"),
    ]
    assert "row 2" in report.errors[0].message and "already exists" in report.errors[2].message
    assert await count(runtime, SimCard) == 2
