"""SQL for the meter assignment history (meter <-> customer, meter <-> SIM card)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hes.db.enums import AssignmentKind
from hes.db.store.existence import any_row
from hes.db.tables import Customer, Meter, MeterAssignment, SimCard

# One history row with the numbers people recognise: (row, meter number, account number, SIM number).
HistoryRow = tuple[MeterAssignment, str, str | None, str | None]


def open_row(
    session: AsyncSession,
    meter_id: int,
    kind: AssignmentKind,
    at: datetime,
    actor: str,
    *,
    customer_id: int | None = None,
    sim_card_id: int | None = None,
) -> None:
    """Add an open history row (the link starts now) to the caller's transaction."""
    session.add(
        MeterAssignment(
            meter_id=meter_id,
            kind=kind,
            customer_id=customer_id,
            sim_card_id=sim_card_id,
            assigned_at=at,
            assigned_by=actor,
        )
    )


async def close_open_rows(session: AsyncSession, meter_id: int, kind: AssignmentKind, at: datetime, actor: str) -> None:
    """Close the meter's open history rows of this kind (normally one)."""
    await session.flush()  # rows opened earlier in this transaction must be closed too
    await session.execute(
        update(MeterAssignment)
        .where(
            MeterAssignment.meter_id == meter_id,
            MeterAssignment.kind == kind,
            MeterAssignment.released_at.is_(None),
        )
        .values(released_at=at, released_by=actor)
        .execution_options(synchronize_session="fetch")
    )


async def exists_for(session: AsyncSession, *, customer_id: int | None = None, sim_card_id: int | None = None) -> bool:
    """True when any history row (open or closed) names this customer or SIM card."""
    query = select(MeterAssignment.id)
    if customer_id is not None:
        query = query.where(MeterAssignment.customer_id == customer_id)
    if sim_card_id is not None:
        query = query.where(MeterAssignment.sim_card_id == sim_card_id)
    return await any_row(session, [query])


async def history_page(
    session: AsyncSession,
    *,
    offset: int,
    limit: int,
    meter_id: int | None = None,
    customer_id: int | None = None,
    sim_card_id: int | None = None,
) -> tuple[list[HistoryRow], int]:
    """History rows of a meter, customer or SIM card (those given), newest first, with the total."""
    query = (
        select(MeterAssignment, Meter.meter_number, Customer.account_number, SimCard.sim_number)
        .join(Meter, Meter.id == MeterAssignment.meter_id)
        .outerjoin(Customer, Customer.id == MeterAssignment.customer_id)
        .outerjoin(SimCard, SimCard.id == MeterAssignment.sim_card_id)
    )
    if meter_id is not None:
        query = query.where(MeterAssignment.meter_id == meter_id)
    if customer_id is not None:
        query = query.where(MeterAssignment.customer_id == customer_id)
    if sim_card_id is not None:
        query = query.where(MeterAssignment.sim_card_id == sim_card_id)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    ordered = query.order_by(MeterAssignment.assigned_at.desc(), MeterAssignment.id.desc()).offset(offset).limit(limit)
    rows = await session.execute(ordered)
    return [(row, number, account, sim) for row, number, account, sim in rows.tuples()], int(total or 0)
