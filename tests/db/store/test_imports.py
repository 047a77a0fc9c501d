"""Import SQL: batch lookups by natural key, bulk inserts returning ids, bulk links."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from hes.db.enums import AssignmentKind, CustomerStatus, CustomerType, MeterStatus, MeterType, SimStatus
from hes.db.store import imports as store
from hes.db.tables import Area, Customer, Meter, MeterAssignment, SimCard
from hes.runtime import Runtime

AT = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def _meter(number: str, **links: int | None) -> store.NewMeter:
    return store.NewMeter(
        meter_number=number,
        concentrator_id=None,
        meter_type=MeterType.THREE_PHASE,
        brand="Hexing",
        model=None,
        firmware=None,
        ip_address=None,
        port=None,
        area_id=None,
        customer_id=links.get("customer_id"),
        sim_card_id=links.get("sim_card_id"),
        status=MeterStatus.WAREHOUSE,
        installed_at=None,
    )


def _sim(number: str, iccid: str, status: SimStatus = SimStatus.AVAILABLE) -> store.NewSimCard:
    return store.NewSimCard(number, iccid, None, None, None, status, None, None, None, None)


async def test_bulk_inserts_return_ids_and_lookups_see_links(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        session.add_all([Area(code="B", name="Bee"), Area(code="A", name="Ay")])
        await session.flush()
        assert [area.code for area in await store.area_keys(session)] == ["A", "B"]
        assert await store.first_area_code(session) == "A"

        await store.insert_sim_cards(
            session, [_sim("S1", "8900000000000000001"), _sim("S2", "8900000000000000002", SimStatus.SUSPENDED)], AT
        )
        sims = await store.sims_by_number(session, {"S1", "S2", "S9"})
        customer = store.NewCustomer("ACC-1", "Ada", None, None, None, None, CustomerType.COMMERCIAL, None, None)
        customer_ids = await store.insert_customers(session, [customer], AT)
        meter_ids = await store.insert_meters(
            session,
            [_meter("M1", sim_card_id=sims["S1"].id), _meter("M2", sim_card_id=sims["S2"].id), _meter("M3")],
            AT,
        )
        assert set(meter_ids) == {"M1", "M2", "M3"} and len(set(meter_ids.values())) == 3
        await store.give_meters_to_customers(session, [(meter_ids["M3"], customer_ids["ACC-1"])], AT)
        await store.insert_assignments(
            session, [store.NewAssignment(meter_ids["M3"], AssignmentKind.CUSTOMER, customer_ids["ACC-1"])], "me", AT
        )
        await store.activate_sim_cards(session, [sims["S1"].id, sims["S2"].id], AT)
        await session.commit()

    async with runtime.sessions() as session:
        assert await store.existing(session, Meter.meter_number, {"M1", "M9"}) == {"M1"}
        assert await store.existing(session, Meter.meter_number, set()) == set()
        sims = await store.sims_by_number(session, {"S1", "S2"})
        assert (sims["S1"].status, sims["S1"].meter_number) == (SimStatus.ACTIVE, "M1")
        assert sims["S2"].status is SimStatus.SUSPENDED
        meters = await store.meters_by_number(session, {"M1", "M3"})
        assert meters["M3"].customer_account == "ACC-1" and meters["M1"].customer_account is None
        customers = await store.customers_by_account(session, {"ACC-1"})
        assert customers["ACC-1"].status is CustomerStatus.ACTIVE
        stored = await session.scalar(select(Meter).where(Meter.meter_number == "M1"))
        assert stored is not None and stored.created_at == AT and stored.meter_type is MeterType.THREE_PHASE
        assert stored.dlms_client_address == 16  # column defaults still apply to bulk inserts
        link = await session.scalar(select(MeterAssignment))
        assert link is not None and (link.assigned_by, link.assigned_at) == ("me", AT)
        assert await session.scalar(select(Customer.customer_type)) is CustomerType.COMMERCIAL
        assert await session.scalar(select(SimCard.updated_at).where(SimCard.sim_number == "S1")) == AT
