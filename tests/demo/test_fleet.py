"""The sample fleet loads through the imports, links meters to customers and SIMs, and loads only once."""

from __future__ import annotations

from sqlalchemy import func, select

from hes.db.tables import Meter, MeterAssignment
from hes.demo import FleetSummary, load_sample_fleet
from hes.runtime import Runtime


async def test_sample_fleet_loads_once_with_links(runtime: Runtime) -> None:
    summary = await load_sample_fleet(runtime.sessions)
    assert summary == FleetSummary(areas=4, sim_cards=24, customers=20, meters=24)

    async with runtime.sessions() as session:
        linked = await session.scalar(
            select(func.count())
            .select_from(Meter)
            .where(Meter.customer_id.is_not(None), Meter.sim_card_id.is_not(None))
        )
        history = await session.scalar(select(func.count()).select_from(MeterAssignment))
    assert linked == 20
    assert history == 20 + 22  # one open link per customer and per SIM

    assert await load_sample_fleet(runtime.sessions) == FleetSummary()
