"""SQL for CSV imports: natural-key lookups for a whole batch in one query, and bulk inserts.

Every function handles one batch (a few thousand rows): lookups are one `IN (...)` query per key, inserts
one multi-row statement (SQLAlchemy's insertmanyvalues), so a 100k-row file costs a few hundred round trips.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, any_, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased

from hes.db.enums import AssignmentKind, CustomerStatus, CustomerType, MeterStatus, MeterType, SimStatus
from hes.db.tables import Area, Customer, Meter, MeterAssignment, SimCard

# Core tables, not ORM entities: an ORM bulk INSERT with RETURNING runs one statement per row on SQLite,
# where Core batches rows into multi-row statements (insertmanyvalues) on both backends.
_customers = cast(Table, Customer.__table__)
_meters = cast(Table, Meter.__table__)
_sim_cards = cast(Table, SimCard.__table__)
_assignments = cast(Table, MeterAssignment.__table__)


@dataclass(frozen=True)
class AreaKey:
    """What an area can be named by in a CSV cell."""

    id: int
    code: str
    name: str


@dataclass(frozen=True)
class CustomerRef:
    """A stored customer as a meter row refers to it."""

    id: int
    account_number: str
    area_id: int | None
    status: CustomerStatus


@dataclass(frozen=True)
class SimRef:
    """A stored SIM card, and the meter it is on if any."""

    id: int
    sim_number: str
    status: SimStatus
    meter_number: str | None


@dataclass(frozen=True)
class MeterRef:
    """A stored meter as a customer row refers to it, with the account of the customer it belongs to."""

    id: int
    meter_number: str
    area_id: int | None
    status: MeterStatus
    customer_account: str | None


@dataclass(frozen=True)
class NewSimCard:
    """A SIM card row to insert."""

    sim_number: str
    iccid: str
    imsi: str | None
    msisdn: str | None
    provider: str | None
    status: SimStatus
    ip_address: str | None
    apn: str | None
    data_limit_mb: int | None
    activation_date: date | None


@dataclass(frozen=True)
class NewCustomer:
    """A customer row to insert."""

    account_number: str
    customer_name: str
    address: str | None
    phone_number: str | None
    email: str | None
    area_id: int | None
    customer_type: CustomerType
    tariff_plan: str | None
    connection_date: date | None


@dataclass(frozen=True)
class NewMeter:
    """A meter row to insert, its links already resolved to ids."""

    meter_number: str
    concentrator_id: str | None
    meter_type: MeterType
    brand: str | None
    model: str | None
    firmware: str | None
    ip_address: str | None
    port: int | None
    area_id: int | None
    customer_id: int | None
    sim_card_id: int | None
    status: MeterStatus
    installed_at: datetime | None


@dataclass(frozen=True)
class NewAssignment:
    """An open link in a meter's assignment history."""

    meter_id: int
    kind: AssignmentKind
    customer_id: int | None = None
    sim_card_id: int | None = None


async def area_keys(session: AsyncSession) -> list[AreaKey]:
    """Every area's id, code and name (the area tree is small; an import resolves names in memory)."""
    rows = await session.execute(select(Area.id, Area.code, Area.name).order_by(Area.code))
    return [AreaKey(area_id, code, name) for area_id, code, name in rows.tuples()]


async def first_area_code(session: AsyncSession) -> str | None:
    """The alphabetically first area code, if any area exists."""
    code: str | None = await session.scalar(select(Area.code).order_by(Area.code).limit(1))
    return code


def _among(session: AsyncSession, column: InstrumentedAttribute[Any], values: Collection[Any]) -> ColumnElement[bool]:
    """`column IN (values)`; on PostgreSQL `= ANY(array)`: one parameter instead of thousands of placeholders
    (measured here: 0.9 ms instead of 5.6 ms for 2,000 keys, most of it SQLAlchemy rendering the list)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(values)


async def existing(session: AsyncSession, column: InstrumentedAttribute[Any], values: Collection[str]) -> set[str]:
    """Which of `values` are already stored in the unique `column`."""
    if not values:
        return set()
    found = await session.scalars(select(column).where(_among(session, column, values)))
    return set(found)


async def customers_by_account(session: AsyncSession, accounts: Collection[str]) -> dict[str, CustomerRef]:
    """Stored customers with these account numbers."""
    if not accounts:
        return {}
    rows = await session.execute(
        select(Customer.id, Customer.account_number, Customer.area_id, Customer.status).where(
            _among(session, Customer.account_number, accounts)
        )
    )
    return {row.account_number: CustomerRef(*row) for row in rows}


async def sims_by_number(session: AsyncSession, numbers: Collection[str]) -> dict[str, SimRef]:
    """Stored SIM cards with these numbers, each with the meter it is on."""
    if not numbers:
        return {}
    rows = await session.execute(
        select(SimCard.id, SimCard.sim_number, SimCard.status, Meter.meter_number)
        .outerjoin(Meter, Meter.sim_card_id == SimCard.id)
        .where(_among(session, SimCard.sim_number, numbers))
    )
    return {row.sim_number: SimRef(*row) for row in rows}


async def meters_by_number(session: AsyncSession, numbers: Collection[str]) -> dict[str, MeterRef]:
    """Stored meters with these numbers, each with the account number of its customer."""
    if not numbers:
        return {}
    owner = aliased(Customer)
    rows = await session.execute(
        select(Meter.id, Meter.meter_number, Meter.area_id, Meter.status, owner.account_number)
        .outerjoin(owner, owner.id == Meter.customer_id)
        .where(_among(session, Meter.meter_number, numbers))
    )
    return {row.meter_number: MeterRef(*row) for row in rows}


async def insert_sim_cards(session: AsyncSession, sims: Sequence[NewSimCard], at: datetime) -> None:
    """Insert SIM cards."""
    if sims:
        await session.execute(insert(_sim_cards), [_values(sim, at) for sim in sims])


async def insert_customers(session: AsyncSession, customers: Sequence[NewCustomer], at: datetime) -> dict[str, int]:
    """Insert customers; their ids by account number."""
    if not customers:
        return {}
    rows = await session.execute(
        insert(_customers).returning(_customers.c.id, _customers.c.account_number),
        [_values(customer, at) for customer in customers],
    )
    return {account: customer_id for customer_id, account in rows.tuples()}


async def insert_meters(session: AsyncSession, meters: Sequence[NewMeter], at: datetime) -> dict[str, int]:
    """Insert meters; their ids by meter number."""
    if not meters:
        return {}
    rows = await session.execute(
        insert(_meters).returning(_meters.c.id, _meters.c.meter_number), [_values(meter, at) for meter in meters]
    )
    return {number: meter_id for meter_id, number in rows.tuples()}


async def insert_assignments(
    session: AsyncSession, links: Sequence[NewAssignment], assigned_by: str, at: datetime
) -> None:
    """Open assignment-history rows for new links."""
    if links:
        values = [{**vars(link), "assigned_by": assigned_by, "assigned_at": at} for link in links]
        await session.execute(insert(_assignments), values)


async def give_meters_to_customers(session: AsyncSession, links: Sequence[tuple[int, int]], at: datetime) -> None:
    """Set each (meter id, customer id) link (one executemany UPDATE)."""
    if not links:
        return
    statement = (
        update(_meters)
        .where(_meters.c.id == bindparam("link_meter_id"))
        .values(customer_id=bindparam("link_customer_id"), updated_at=at)
    )
    params = [{"link_meter_id": meter, "link_customer_id": customer} for meter, customer in links]
    await session.execute(statement, params)


async def activate_sim_cards(session: AsyncSession, sim_ids: Collection[int], at: datetime) -> None:
    """Mark SIM cards that were waiting in stock as active (suspended and inactive ones stay as they are)."""
    if sim_ids:
        await session.execute(
            update(SimCard)
            .where(_among(session, SimCard.id, sim_ids), SimCard.status == SimStatus.AVAILABLE)
            .values(status=SimStatus.ACTIVE, updated_at=at),
            execution_options={"synchronize_session": False},
        )


def _values(row: NewSimCard | NewCustomer | NewMeter, at: datetime) -> dict[str, object]:
    return {**vars(row), "created_at": at, "updated_at": at}
