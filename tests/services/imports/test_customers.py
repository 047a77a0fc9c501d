"""Customer rows: fields, spellings, and `meterAssigned` giving a stored meter to the new customer."""

from __future__ import annotations

from sqlalchemy import select

from hes.db.enums import AssignmentKind, CustomerType, MeterStatus
from hes.db.tables import Customer, Meter, MeterAssignment
from hes.runtime import Runtime
from hes.services.imports import ImportEntity, ImportMode
from tests.services.imports.conftest import CUSTOMER_HEADER, count, csv_bytes, one, run_import

CUSTOMERS = ImportEntity.CUSTOMERS


async def test_fields_are_normalised(runtime: Runtime) -> None:
    row = "Ada Obi,ACC-1,12 Ring Road,+234 803 000 0001,Ada@EXAMPLE.com,,,Domestic,R2,2024-01-15T08:00:00"
    await run_import(runtime, CUSTOMERS, csv_bytes(CUSTOMER_HEADER, row))
    ada = await one(runtime, select(Customer))
    assert (ada.email, ada.customer_type, str(ada.connection_date)) == (
        "Ada@example.com",
        CustomerType.RESIDENTIAL,
        "2024-01-15",
    )


async def test_bad_cells_are_each_named(runtime: Runtime) -> None:
    data = csv_bytes(
        CUSTOMER_HEADER,
        ",ACC-1,,,,,,,,",
        "<script>,ACC-2,,12,not-an-email,,,alien,,2024-13-01",
        "Ada,,,,,,,,,",
    )
    report = await run_import(runtime, CUSTOMERS, data, mode=ImportMode.VALID_ONLY)
    assert [(p.row, p.field) for p in report.errors] == [
        (2, "customerName"),
        (3, "customerName"),
        (3, "phoneNumber"),
        (3, "email"),
        (3, "customerType"),
        (3, "connectionDate"),
        (4, "accountNumber"),
    ]
    assert report.failed == 3 and await count(runtime, Customer) == 0


async def test_meter_assigned_links_a_stored_meter_with_history(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        session.add_all(
            [
                Meter(meter_number="M-FREE"),
                Meter(meter_number="M-OLD", status=MeterStatus.DECOMMISSIONED),
                Meter(meter_number="M-TAKEN"),
            ]
        )
        await session.commit()
    await run_import(runtime, CUSTOMERS, csv_bytes(CUSTOMER_HEADER, "Owner,ACC-0,,,,,M-TAKEN,,,"))
    data = csv_bytes(
        CUSTOMER_HEADER,
        "Ada,ACC-1,,,,,M-FREE,,,",
        "Femi,ACC-2,,,,,M-FREE,,,",
        "Tolu,ACC-3,,,,,M-OLD,,,",
        "Bisi,ACC-4,,,,,M-TAKEN,,,",
        "Kemi,ACC-5,,,,,M-NONE,,,",
        "Ada again,ACC-0,,,,,,,,",
    )
    report = await run_import(runtime, CUSTOMERS, data, mode=ImportMode.VALID_ONLY, batch_rows=2)
    assert [(p.row, p.field, p.message) for p in report.errors] == [
        (3, "meterAssigned", "the meter is already assigned to the customer in row 2"),
        (4, "meterAssigned", "the meter is decommissioned"),
        (5, "meterAssigned", "the meter already belongs to customer ACC-0"),
        (6, "meterAssigned", "no meter with this number"),
        (7, "accountNumber", "a customer with this account number already exists"),
    ]
    ada = await one(runtime, select(Customer).where(Customer.account_number == "ACC-1"))
    meter = await one(runtime, select(Meter).where(Meter.meter_number == "M-FREE"))
    assert meter.customer_id == ada.id and meter.status is MeterStatus.WAREHOUSE
    link = await one(runtime, select(MeterAssignment).where(MeterAssignment.customer_id == ada.id))
    assert (link.meter_id, link.kind, link.assigned_by) == (meter.id, AssignmentKind.CUSTOMER, "importer")
