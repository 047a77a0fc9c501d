"""link_sim / link_customer: history rows opened and closed, SIM statuses, refusals; on the real database."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hes.db.enums import AssignmentKind, CustomerStatus, MeterStatus, SimStatus
from hes.db.tables import Customer, Meter, MeterAssignment, SimCard
from hes.errors import Conflict
from hes.runtime import Runtime
from hes.services.assignments import link_customer, link_sim


async def _rows(session: AsyncSession, kind: AssignmentKind) -> list[MeterAssignment]:
    query = select(MeterAssignment).where(MeterAssignment.kind == kind).order_by(MeterAssignment.id)
    return list(await session.scalars(query))


async def _setup(session: AsyncSession, meters: int = 2) -> tuple[list[Meter], SimCard, list[Customer]]:
    found = [Meter(meter_number=f"MTR-{index}") for index in range(meters)]
    sim = SimCard(sim_number="SIM-1", iccid="8923400000000000001")
    customers = [Customer(account_number=f"ACC-{index}", customer_name=f"Customer {index}") for index in range(2)]
    session.add_all([*found, sim, *customers])
    await session.commit()
    return found, sim, customers


async def test_moving_a_sim_closes_the_old_row_and_opens_a_new_one(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        (first, second), sim, _ = await _setup(session)
        assert sim.status.value == "available"
        await link_sim(session, second, sim, "alice")
        await session.commit()
        assert sim.status == SimStatus.ACTIVE and second.sim_card_id == sim.id

        # From the meter with the higher id to the lower: the unique SIM column must be freed first.
        await link_sim(session, first, sim, "bob")
        await session.commit()

    async with runtime.sessions() as session:
        stored = {meter.meter_number: meter.sim_card_id for meter in await session.scalars(select(Meter))}
        assert stored == {"MTR-0": sim.id, "MTR-1": None}
        rows = await _rows(session, AssignmentKind.SIM)
        assert [(row.meter_id, row.assigned_by, row.released_by) for row in rows] == [
            (second.id, "alice", "bob"),
            (first.id, "bob", None),
        ]
        assert rows[0].released_at is not None and rows[1].released_at is None
        stored_sim = await session.get(SimCard, sim.id)
        assert stored_sim is not None and stored_sim.status is SimStatus.ACTIVE


async def test_releasing_a_sim_returns_it_to_stock_unless_suspended(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        (meter, _), sim, _ = await _setup(session)
        await link_sim(session, meter, sim, "alice")
        await link_sim(session, meter, sim, "alice")  # the same link again changes nothing
        await link_sim(session, meter, None, "alice")
        await session.commit()
        assert sim.status is SimStatus.AVAILABLE and meter.sim_card_id is None
        assert [row.released_at is not None for row in await _rows(session, AssignmentKind.SIM)] == [True]

        sim.status = SimStatus.SUSPENDED
        await link_sim(session, meter, sim, "alice")
        assert sim.status is SimStatus.SUSPENDED
        await link_sim(session, meter, None, "alice")
        await session.commit()
        assert sim.status is SimStatus.SUSPENDED


async def test_reassigning_and_releasing_the_customer_keeps_history(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        (meter, _), _, (first, second) = await _setup(session)
        await link_customer(session, meter, first, "alice")
        await link_customer(session, meter, second, "bob")
        await session.commit()
        assert meter.customer_id == second.id
        await link_customer(session, meter, None, "carol")
        await session.commit()

    async with runtime.sessions() as session:
        rows = await _rows(session, AssignmentKind.CUSTOMER)
        assert [(row.customer_id, row.assigned_by, row.released_by) for row in rows] == [
            (first.id, "alice", "bob"),
            (second.id, "bob", "carol"),
        ]
        stored_meter = await session.get(Meter, meter.id)
        assert stored_meter is not None and stored_meter.customer_id is None


async def test_a_new_meter_can_be_linked_in_the_transaction_that_creates_it(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        _, sim, (customer, _) = await _setup(session, meters=0)
        meter = Meter(meter_number="MTR-NEW")
        session.add(meter)
        await link_sim(session, meter, sim, "alice")
        await link_customer(session, meter, customer, "alice")
        await session.commit()
        assert meter.id is not None and len(await _rows(session, AssignmentKind.SIM)) == 1


async def test_decommissioned_meters_and_closed_accounts_are_refused(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        (meter, other), sim, (customer, closed) = await _setup(session)
        meter.status = MeterStatus.DECOMMISSIONED
        closed.status = CustomerStatus.CLOSED
        await session.commit()
        with pytest.raises(Conflict):
            await link_sim(session, meter, sim, "alice")
        with pytest.raises(Conflict):
            await link_customer(session, meter, customer, "alice")
        with pytest.raises(Conflict):
            await link_customer(session, other, closed, "alice")
        await link_sim(session, meter, None, "alice")  # releasing is always allowed
        await session.rollback()
        assert await _rows(session, AssignmentKind.SIM) == []
        assert await _rows(session, AssignmentKind.CUSTOMER) == []
