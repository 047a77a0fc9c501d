"""Polling ticks: the due meters of each group, with sub-areas, only active outbound and dial-in meters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hes.connectivity.catalogue import CollectionKind
from hes.connectivity.polling import due_collections, group_filters
from hes.connectivity.polling_groups import parse_polling_groups
from hes.db.enums import ConnectionMode, MeterStatus
from hes.db.tables import Area, Meter
from hes.runtime import Runtime

SLOT = datetime(2026, 3, 2, tzinfo=UTC)  # midnight: a daily offset falls in the first tick of the day for some


async def _fleet(runtime: Runtime) -> dict[str, int]:
    async with runtime.sessions() as session:
        region = Area(code="REGION", name="Region")
        session.add(region)
        await session.flush()
        town = Area(code="TOWN", name="Town", parent_id=region.id)
        session.add(town)
        await session.flush()
        meters = {
            "town": Meter(meter_number="T", area_id=town.id, status=MeterStatus.ONLINE),
            "elsewhere": Meter(meter_number="E", status=MeterStatus.OFFLINE),
            "dial-in": Meter(meter_number="D", status=MeterStatus.INSTALLED, connection_mode=ConnectionMode.DIAL_IN),
            "mqtt": Meter(meter_number="Q", status=MeterStatus.ONLINE, connection_mode=ConnectionMode.MQTT),
            "faulty": Meter(meter_number="F", status=MeterStatus.FAULTY),
            "stock": Meter(meter_number="S", status=MeterStatus.WAREHOUSE),
        }
        session.add_all(meters.values())
        await session.commit()
        return {name: meter.id for name, meter in meters.items()}


async def test_over_a_whole_interval_each_active_meter_is_due_once_per_kind(runtime: Runtime) -> None:
    ids = await _fleet(runtime)
    groups = parse_polling_groups('[{"area": "REGION", "registers": 3600, "events": 0}]')
    due: dict[int, list[CollectionKind]] = {}
    async with runtime.sessions() as session:
        for step in range(24 * 60 // 15):  # a day of 15-minute ticks
            found = await due_collections(session, groups, SLOT + timedelta(minutes=15 * step), 900)
            for kinds, meter_ids in found.items():
                for meter_id in meter_ids:
                    due.setdefault(meter_id, []).extend(kinds)
    assert set(due) == {ids["town"], ids["elsewhere"], ids["dial-in"]}  # active, outbound or dial-in only
    town = due[ids["town"]]  # the region's group covers its sub-area: registers hourly, no events
    assert town.count(CollectionKind.REGISTERS) == 24 and CollectionKind.EVENTS not in town
    assert town.count(CollectionKind.LOAD_PROFILE) == 1
    elsewhere = due[ids["elsewhere"]]  # the default group
    assert elsewhere.count(CollectionKind.REGISTERS) == 96 and elsewhere.count(CollectionKind.EVENTS) == 1


async def test_a_group_of_an_unknown_area_matches_no_meter(runtime: Runtime) -> None:
    await _fleet(runtime)
    groups = parse_polling_groups('[{"area": "NOWHERE"}, {"brand": "hexing"}]')
    async with runtime.sessions() as session:
        nowhere, hexing, default = await group_filters(session, groups)
    assert nowhere.area_ids == frozenset() and hexing.brand == "hexing" and default.area_ids is None
