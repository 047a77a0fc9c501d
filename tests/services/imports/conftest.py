"""Shared pieces of the import service tests: a caller, CSV files, and running an import in its own session."""

from __future__ import annotations

import io
from typing import Any

from sqlalchemy import func, select

from hes.db.enums import Role
from hes.runtime import Runtime
from hes.services.imports import ImportEntity, ImportReport, import_csv
from hes.services.principal import Principal

IMPORTER = Principal(user_id=1, username="importer", role=Role.OPERATOR)
SIM_HEADER = "simNumber,iccid,imsi,msisdn,provider,status,ipAddress,apn,dataLimit,activationDate"
CUSTOMER_HEADER = (
    "customerName,accountNumber,address,phoneNumber,email,area,meterAssigned,customerType,tariffPlan,connectionDate"
)
METER_HEADER = "meterNumber,concentratorId,meterType,brand,model,firmware,ipAddress,port,area,customer,simCard"


def csv_bytes(header: str, *rows: str) -> bytes:
    """A CSV file: header, rows, LF line ends."""
    return ("\n".join((header, *rows)) + "\n").encode()


async def run_import(
    runtime: Runtime, entity: ImportEntity, data: bytes, principal: Principal = IMPORTER, **options: Any
) -> ImportReport:
    """Run one import in a session of its own, as a request would."""
    async with runtime.sessions() as session:
        return await import_csv(session, principal, entity, io.BytesIO(data), **options)


async def count(runtime: Runtime, table: type[Any], *criteria: Any) -> int:
    """Rows of `table` matching `criteria`."""
    async with runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(table).where(*criteria)) or 0)


async def one(runtime: Runtime, query: Any) -> Any:
    """The one object `query` selects."""
    async with runtime.sessions() as session:
        found = await session.scalar(query)
        assert found is not None
        return found
