"""Meter rows: type spellings, links to customers and SIM cards, statuses, refusals."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hes.db.enums import AssignmentKind, CustomerStatus, MeterStatus, MeterType, SimStatus
from hes.db.tables import Customer, Meter, MeterAssignment, SimCard
from hes.runtime import Runtime
from hes.services.imports import ImportEntity, ImportMode
from tests.services.imports.conftest import METER_HEADER, count, csv_bytes, one, run_import

METERS = ImportEntity.METERS


async def _stock(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        session.add_all(
            [
                Customer(account_number="ACC-1", customer_name="Ada"),
                Customer(account_number="ACC-CLOSED", customer_name="Gone", status=CustomerStatus.CLOSED),
                SimCard(sim_number="SIM-A", iccid="8923401000000000001", status=SimStatus.AVAILABLE),
                SimCard(sim_number="SIM-I", iccid="8923401000000000002", status=SimStatus.INACTIVE),
            ]
        )
        await session.commit()


@pytest.mark.parametrize(
    ("spelling", "meter_type"),
    [
        ("Single Phase", MeterType.SINGLE_PHASE),
        ("1P", MeterType.SINGLE_PHASE),
        ("1-phase", MeterType.SINGLE_PHASE),
        ("3P", MeterType.THREE_PHASE),
        ("three_phase", MeterType.THREE_PHASE),
        ("CT", MeterType.CT),
        ("CT/VT", MeterType.CT_VT),
        ("ct-pt", MeterType.CT_VT),
        ("", MeterType.SINGLE_PHASE),
    ],
)
async def test_meter_type_spellings(runtime: Runtime, spelling: str, meter_type: MeterType) -> None:
    await run_import(runtime, METERS, csv_bytes(METER_HEADER, f"M-1,,{spelling},,,,,,,,"))
    assert await one(runtime, select(Meter.meter_type)) == meter_type


async def test_links_history_and_statuses(runtime: Runtime) -> None:
    await _stock(runtime)
    data = csv_bytes(
        METER_HEADER,
        "M-1,,,,,,,,,ACC-1,SIM-A",  # customer: installed; SIM available -> active
        "M-2,,,,,,10.0.0.2,4059,,,SIM-I",  # address: installed; inactive SIM stays inactive
        "M-3,,,,,,,,,,",  # nothing: warehouse
    )
    report = await run_import(runtime, METERS, data)
    assert report.imported == 3
    async with runtime.sessions() as session:
        meters = {meter.meter_number: meter for meter in await session.scalars(select(Meter))}
        sims = {sim.sim_number: sim.status for sim in await session.scalars(select(SimCard))}
        history = list(await session.scalars(select(MeterAssignment).order_by(MeterAssignment.id)))
    assert [meters[n].status for n in ("M-1", "M-2", "M-3")] == [
        MeterStatus.INSTALLED,
        MeterStatus.INSTALLED,
        MeterStatus.WAREHOUSE,
    ]
    assert meters["M-1"].installed_at is not None and meters["M-3"].installed_at is None
    assert meters["M-2"].port == 4059 and meters["M-2"].ip_address == "10.0.0.2"
    assert sims == {"SIM-A": SimStatus.ACTIVE, "SIM-I": SimStatus.INACTIVE}
    assert {(row.meter_id, row.kind) for row in history} == {
        (meters["M-1"].id, AssignmentKind.CUSTOMER),
        (meters["M-1"].id, AssignmentKind.SIM),
        (meters["M-2"].id, AssignmentKind.SIM),
    }
    assert all(row.assigned_by == "importer" and row.released_at is None for row in history)


async def test_closed_customers_and_taken_sims_are_refused(runtime: Runtime) -> None:
    await _stock(runtime)
    await run_import(runtime, METERS, csv_bytes(METER_HEADER, "M-1,,,,,,,,,,SIM-A"))
    data = csv_bytes(METER_HEADER, "M-2,,,,,,,,,ACC-CLOSED,", "M-3,,,,,,,,,,SIM-A", "M-4,,,,,,,,,acc-1,")
    report = await run_import(runtime, METERS, data, mode=ImportMode.VALID_ONLY)
    assert [(p.row, p.field, p.message) for p in report.errors] == [
        (2, "customer", "the customer's account is closed"),
        (3, "simCard", "the SIM card is already on meter M-1"),
        (4, "customer", "no customer with this account number"),
    ]
    assert await count(runtime, Meter) == 1
