"""Meters as senders: looked up by number or id with area and concentrator; contacts mark them seen and online."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from hes.db.enums import MeterStatus
from hes.db.store import meter_contact
from hes.db.tables import Meter
from hes.runtime import Runtime
from tests.ingest.fleet import add_meters

SEEN = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


async def test_meters_are_found_by_number_and_by_id_with_area_and_concentrator(runtime: Runtime) -> None:
    ids = await add_meters(runtime, ["MC-1", "MC-2"], concentrator="GW-7", area_code="NORTH")
    async with runtime.sessions() as session:
        by_number = await meter_contact.by_numbers(session, ["MC-1", "MC-2", "NOPE"])
        by_id = await meter_contact.by_ids(session, [ids["MC-2"], 999_999])
    assert sorted((ref.meter_number, ref.concentrator_id, ref.area_code) for ref in by_number) == [
        ("MC-1", "GW-7", "NORTH"),
        ("MC-2", "GW-7", "NORTH"),
    ]
    assert [(ref.id, ref.meter_number) for ref in by_id] == [(ids["MC-2"], "MC-2")]


async def test_a_contact_moves_last_seen_forward_only_and_brings_field_meters_online(runtime: Runtime) -> None:
    statuses = {
        "INST": MeterStatus.INSTALLED,
        "OFF": MeterStatus.OFFLINE,
        "ON": MeterStatus.ONLINE,
        "STOCK": MeterStatus.WAREHOUSE,
        "BROKEN": MeterStatus.FAULTY,
        "GONE": MeterStatus.DECOMMISSIONED,
    }
    ids: dict[str, int] = {}
    for number, status in statuses.items():
        ids |= await add_meters(runtime, [number], status=status)
    async with runtime.sessions() as session:
        before = {m.id: m.updated_at for m in await session.scalars(select(Meter))}
        came_online = await meter_contact.mark_seen(session, list(ids.values()), SEEN)
        await session.commit()
    assert came_online == sorted([ids["INST"], ids["OFF"]])
    async with runtime.sessions() as session:
        # An older contact (a late batch) changes nothing; nothing comes online twice.
        assert await meter_contact.mark_seen(session, list(ids.values()), SEEN - timedelta(hours=1)) == []
        await session.commit()
        meters = {m.meter_number: m for m in await session.scalars(select(Meter))}
    assert {number: meters[number].status for number in statuses} == {
        "INST": MeterStatus.ONLINE,
        "OFF": MeterStatus.ONLINE,
        "ON": MeterStatus.ONLINE,
        "STOCK": MeterStatus.WAREHOUSE,
        "BROKEN": MeterStatus.FAULTY,
        "GONE": MeterStatus.DECOMMISSIONED,
    }
    assert {meter.last_seen_at for meter in meters.values()} == {SEEN}
    # A contact is not an edit of the meter record.
    assert {meter.id: meter.updated_at for meter in meters.values()} == before


async def test_contacts_within_the_resolution_write_last_seen_once(runtime: Runtime) -> None:
    meter = (await add_meters(runtime, ["MC-BURST"]))["MC-BURST"]
    burst = [SEEN + timedelta(seconds=second) for second in range(0, 10, 2)]
    later = SEEN + meter_contact.SEEN_RESOLUTION + timedelta(seconds=1)
    stored: list[datetime | None] = []
    for moment in [*burst, later]:
        async with runtime.sessions() as session:
            await meter_contact.mark_seen(session, [meter], moment)
            await session.commit()
            stored.append(await session.scalar(select(Meter.last_seen_at).where(Meter.id == meter)))
    assert stored == [SEEN] * len(burst) + [later]
