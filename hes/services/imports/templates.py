"""The three CSV templates as data: their columns, which are required, and one importable example row."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from hes.db.store import imports as store
from hes.services.imports.report import ImportEntity

# Placeholder in an example row, replaced by the code of the first existing area (or nothing).
AREA_EXAMPLE = "{area}"


@dataclass(frozen=True)
class TemplateColumn:
    """One column of a template: its exact header, whether every row must fill it, and an example value."""

    name: str
    required: bool
    example: str


@dataclass(frozen=True)
class Template:
    """The columns of one kind of CSV file, in template order."""

    entity: ImportEntity
    columns: tuple[TemplateColumn, ...]

    @property
    def headers(self) -> tuple[str, ...]:
        """Header names in template order."""
        return tuple(column.name for column in self.columns)

    @property
    def required(self) -> tuple[str, ...]:
        """Headers a file must have."""
        return tuple(column.name for column in self.columns if column.required)

    def render(self, area_code: str | None) -> str:
        """The template file: header plus the example row (Excel-friendly: BOM and CRLF, as RFC 4180 says)."""
        example = [area_code or "" if column.example == AREA_EXAMPLE else column.example for column in self.columns]
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(self.headers)
        writer.writerow(example)
        # The BOM makes Excel open the file as UTF-8; the import accepts it with or without.
        return "\ufeff" + buffer.getvalue()


def _column(name: str, example: str, *, required: bool = False) -> TemplateColumn:
    return TemplateColumn(name, required, example)


# The examples import cleanly in the order simcards -> customers -> meters: the meter names the example
# customer's account and the example SIM, so a new user can try the whole chain with the files as downloaded.
EXAMPLE_SIM_NUMBER = "SIM-EXAMPLE-001"
EXAMPLE_ACCOUNT = "ACC-EXAMPLE-001"
EXAMPLE_METER_NUMBER = "MTR-EXAMPLE-001"

TEMPLATES: Mapping[ImportEntity, Template] = {
    ImportEntity.SIMCARDS: Template(
        ImportEntity.SIMCARDS,
        (
            _column("simNumber", EXAMPLE_SIM_NUMBER, required=True),
            _column("iccid", "8923401000000000017", required=True),
            _column("imsi", "621301000000017"),
            _column("msisdn", "+2348030000017"),
            _column("provider", "MTN"),
            _column("status", "available"),
            _column("ipAddress", "10.20.0.17"),
            _column("apn", "hes.iot.ng"),
            _column("dataLimit", "50"),
            _column("activationDate", "2024-01-15"),
        ),
    ),
    ImportEntity.CUSTOMERS: Template(
        ImportEntity.CUSTOMERS,
        (
            _column("customerName", "Adaeze Okafor", required=True),
            _column("accountNumber", EXAMPLE_ACCOUNT, required=True),
            _column("address", "12 Ring Road, Ibadan"),
            _column("phoneNumber", "+2348030000018"),
            _column("email", "adaeze.okafor@example.com"),
            _column("area", AREA_EXAMPLE),
            _column("meterAssigned", ""),
            _column("customerType", "residential"),
            _column("tariffPlan", "R2"),
            _column("connectionDate", "2024-01-15"),
        ),
    ),
    ImportEntity.METERS: Template(
        ImportEntity.METERS,
        (
            _column("meterNumber", EXAMPLE_METER_NUMBER, required=True),
            _column("concentratorId", "DCU-001"),
            _column("meterType", "single-phase"),
            _column("brand", "Hexing"),
            _column("model", "HXE110"),
            _column("firmware", "V1.02.07"),
            _column("ipAddress", "10.20.0.17"),
            _column("port", "4059"),
            _column("area", AREA_EXAMPLE),
            _column("customer", EXAMPLE_ACCOUNT),
            _column("simCard", EXAMPLE_SIM_NUMBER),
        ),
    ),
}


async def template_csv(session: AsyncSession, entity: ImportEntity) -> str:
    """The downloadable template of `entity`; its example names the first area by code when there is one."""
    return TEMPLATES[entity].render(await store.first_area_code(session))
