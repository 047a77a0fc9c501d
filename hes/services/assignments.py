"""Linking meters to customers and SIM cards, keeping every link in the assignment history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from hes.db.enums import AssignmentKind, CustomerStatus, MeterStatus, SimStatus
from hes.db.store import assignments, meters, sims
from hes.db.tables import Customer, Meter, SimCard, utc_now
from hes.errors import Conflict, Problem
from hes.services.listing import Listing, Pagination

# An operator's choice at the network operator; linking or releasing a SIM does not override it.
_KEPT_SIM_STATUSES = frozenset({SimStatus.SUSPENDED, SimStatus.INACTIVE})


@dataclass(frozen=True)
class AssignmentView:
    """One history row with the meter, account and SIM numbers it names."""

    id: int
    meter_id: int
    meter_number: str
    kind: AssignmentKind
    customer_id: int | None
    account_number: str | None
    sim_card_id: int | None
    sim_number: str | None
    assigned_at: datetime
    released_at: datetime | None
    assigned_by: str | None
    released_by: str | None


async def link_sim(session: AsyncSession, meter: Meter, sim: SimCard | None, actor: str) -> None:
    """Put `sim` in `meter` (None takes its SIM out), moving it off another meter; the caller commits.

    Raises:
        Conflict: the meter is decommissioned and `sim` is not None.
    """
    if sim is not None and meter.sim_card_id == sim.id:
        return
    _refuse_if_decommissioned(meter, sim, "simCardId")
    await _ensure_id(session, meter)
    now = utc_now()
    if meter.sim_card_id is not None:
        await _release_sim(session, meter, now, actor)
    if sim is None:
        return
    previous_meter = await meters.by_sim(session, sim.id)
    if previous_meter is not None:
        await _release_sim(session, previous_meter, now, actor)
        # The SIM column is unique: the old meter must let go in the database before this one takes it.
        await session.flush()
    meter.sim_card_id = sim.id
    assignments.open_row(session, meter.id, AssignmentKind.SIM, now, actor, sim_card_id=sim.id)
    if sim.status not in _KEPT_SIM_STATUSES:
        sim.status = SimStatus.ACTIVE


async def link_customer(session: AsyncSession, meter: Meter, customer: Customer | None, actor: str) -> None:
    """Make `customer` the one `meter` supplies (None: no customer); the caller commits.

    Raises:
        Conflict: the meter is decommissioned, or the customer's account is closed.
    """
    if customer is not None and meter.customer_id == customer.id:
        return
    _refuse_if_decommissioned(meter, customer, "customerId")
    if customer is not None and customer.status is CustomerStatus.CLOSED:
        raise Conflict(
            "the customer's account is closed",
            [Problem(f"customer {customer.account_number} is closed; reopen it first", field="customerId")],
        )
    await _ensure_id(session, meter)
    now = utc_now()
    if meter.customer_id is not None:
        await assignments.close_open_rows(session, meter.id, AssignmentKind.CUSTOMER, now, actor)
        meter.customer_id = None
    if customer is None:
        return
    meter.customer_id = customer.id
    assignments.open_row(session, meter.id, AssignmentKind.CUSTOMER, now, actor, customer_id=customer.id)


async def history(
    session: AsyncSession,
    pagination: Pagination,
    *,
    meter_id: int | None = None,
    customer_id: int | None = None,
    sim_card_id: int | None = None,
) -> Listing[AssignmentView]:
    """Assignment history of a meter, customer or SIM card, newest first; the caller checks visibility."""
    rows, total = await assignments.history_page(
        session,
        offset=pagination.offset,
        limit=pagination.limit,
        meter_id=meter_id,
        customer_id=customer_id,
        sim_card_id=sim_card_id,
    )
    views = [
        AssignmentView(
            id=row.id,
            meter_id=row.meter_id,
            meter_number=meter_number,
            kind=row.kind,
            customer_id=row.customer_id,
            account_number=account_number,
            sim_card_id=row.sim_card_id,
            sim_number=sim_number,
            assigned_at=row.assigned_at,
            released_at=row.released_at,
            assigned_by=row.assigned_by,
            released_by=row.released_by,
        )
        for row, meter_number, account_number, sim_number in rows
    ]
    return Listing(views, total, pagination)


async def _release_sim(session: AsyncSession, meter: Meter, at: datetime, actor: str) -> None:
    """Take the SIM out of `meter`: close its history row and put the SIM back in stock."""
    assert meter.sim_card_id is not None
    sim = await sims.by_id(session, meter.sim_card_id)
    await assignments.close_open_rows(session, meter.id, AssignmentKind.SIM, at, actor)
    meter.sim_card_id = None
    if sim is not None and sim.status not in _KEPT_SIM_STATUSES:
        sim.status = SimStatus.AVAILABLE


def _refuse_if_decommissioned(meter: Meter, target: object | None, field: str) -> None:
    if target is not None and meter.status is MeterStatus.DECOMMISSIONED:
        raise Conflict(
            "a decommissioned meter cannot be linked",
            [Problem(f"meter {meter.meter_number} is decommissioned", field=field)],
        )


async def _ensure_id(session: AsyncSession, meter: Meter) -> None:
    """A new meter needs its id before history rows can name it."""
    if meter.id is None:
        await session.flush()
