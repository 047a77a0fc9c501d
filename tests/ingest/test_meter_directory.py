"""The meter directory answers from memory, asks the database on a miss, and forgets after its ttl."""

from __future__ import annotations

import asyncio

from sqlalchemy import update

from hes.db.tables import Meter
from hes.ingest.meter_directory import MeterDirectory, plausible_meter_number
from hes.runtime import Runtime
from tests.ingest.fleet import add_meters


async def test_numbers_and_ids_resolve_and_unknown_ones_are_left_out(runtime: Runtime) -> None:
    ids = await add_meters(runtime, ["MD-1", "MD-2"], concentrator="GW-3", area_code="EAST")
    directory = MeterDirectory(runtime.sessions, plausible_number=plausible_meter_number)
    found = await directory.by_numbers(["MD-1", "MD-2", "MD-404", "not a number!"])
    assert {number: (ref.id, ref.concentrator_id, ref.area_code) for number, ref in found.items()} == {
        "MD-1": (ids["MD-1"], "GW-3", "EAST"),
        "MD-2": (ids["MD-2"], "GW-3", "EAST"),
    }
    assert set(await directory.by_ids([ids["MD-1"], 424_242])) == {ids["MD-1"]}
    assert await directory.known_ids({ids["MD-1"], ids["MD-2"], 424_242}) == {ids["MD-1"], ids["MD-2"]}


async def test_cached_entries_last_until_the_ttl_then_changes_are_seen(runtime: Runtime) -> None:
    ids = await add_meters(runtime, ["MD-3"], concentrator="GW-OLD")
    directory = MeterDirectory(runtime.sessions, ttl=0.3)
    assert (await directory.by_numbers(["MD-3"]))["MD-3"].concentrator_id == "GW-OLD"
    async with runtime.sessions() as session:
        await session.execute(update(Meter).where(Meter.id == ids["MD-3"]).values(concentrator_id="GW-NEW"))
        await session.commit()
    assert (await directory.by_numbers(["MD-3"]))["MD-3"].concentrator_id == "GW-OLD"
    await asyncio.sleep(0.35)
    assert (await directory.by_numbers(["MD-3"]))["MD-3"].concentrator_id == "GW-NEW"


async def test_an_unknown_number_is_asked_again_only_after_unknown_ttl(runtime: Runtime) -> None:
    directory = MeterDirectory(runtime.sessions, unknown_ttl=0.3)
    assert await directory.by_numbers(["MD-LATE"]) == {}
    await add_meters(runtime, ["MD-LATE"])
    assert await directory.by_numbers(["MD-LATE"]) == {}  # still remembered as unknown
    await asyncio.sleep(0.35)
    assert set(await directory.by_numbers(["MD-LATE"])) == {"MD-LATE"}


def test_only_plausible_meter_numbers_are_looked_up() -> None:
    assert plausible_meter_number("MTR-0001")
    assert not plausible_meter_number("")
    assert not plausible_meter_number("x" * 40)
    assert not plausible_meter_number("MTR\x00")
    assert not plausible_meter_number("8.9E+19")
