"""Loads the sample fleet through the same services a user calls: areas, then the three CSV imports."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from importlib import resources

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hes.db.enums import Role
from hes.db.tables import Meter
from hes.services import areas
from hes.services.areas import AreaFields
from hes.services.imports import ImportEntity, import_csv
from hes.services.principal import Principal

_DATA = resources.files("hes.demo") / "data"
# Import order matters: meters name their customer and SIM card.
_IMPORT_ORDER = (ImportEntity.SIMCARDS, ImportEntity.CUSTOMERS, ImportEntity.METERS)
_DEMO_PRINCIPAL = Principal(user_id=0, username="demo", role=Role.ADMIN)


@dataclass(frozen=True)
class FleetSummary:
    """How many records the sample fleet added (all zero when the database already had meters)."""

    areas: int = 0
    sim_cards: int = 0
    customers: int = 0
    meters: int = 0


async def load_sample_fleet(sessions: async_sessionmaker[AsyncSession]) -> FleetSummary:
    """Add the sample fleet to an empty database; a database that has meters is left alone."""
    async with sessions() as session:
        if await session.scalar(select(func.count()).select_from(Meter)):
            return FleetSummary()
        area_count = await _create_areas(session)
    imported: dict[ImportEntity, int] = {}
    for entity in _IMPORT_ORDER:
        async with sessions() as session:
            with (_DATA / f"{entity.value}.csv").open("rb") as source:
                report = await import_csv(session, _DEMO_PRINCIPAL, entity, source)
        imported[entity] = report.imported
    return FleetSummary(
        areas=area_count,
        sim_cards=imported[ImportEntity.SIMCARDS],
        customers=imported[ImportEntity.CUSTOMERS],
        meters=imported[ImportEntity.METERS],
    )


async def _create_areas(session: AsyncSession) -> int:
    """Areas from areas.csv (code, name, parent code); parents come before their children in the file."""
    ids_by_code: dict[str, int] = {}
    rows = list(csv.DictReader(io.StringIO((_DATA / "areas.csv").read_text(encoding="utf-8"))))
    for row in rows:
        parent_id = ids_by_code[row["parent"]] if row["parent"] else None
        fields = AreaFields(code=row["code"], name=row["name"], parent_id=parent_id)
        area = await areas.create_area(session, _DEMO_PRINCIPAL, fields)
        ids_by_code[area.code] = area.id
    return len(rows)
