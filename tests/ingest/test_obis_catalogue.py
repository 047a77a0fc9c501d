"""The OBIS catalogue: brand profile codes and stored codes are known; ids are created once, with a description."""

from __future__ import annotations

from hes.db.store import obis_codes
from hes.ingest.obis_catalogue import INVALID_OBIS, UNKNOWN_OBIS, ObisCatalogue
from hes.obis.codes import ObisCode
from hes.runtime import Runtime

ENERGY = ObisCode.parse("1-0:1.8.0.255")
PRIVATE = ObisCode.parse("1-0:128.8.0.255")  # manufacturer-specific (C = 128), in no brand profile


async def test_profile_codes_resolve_in_any_spelling_and_others_are_refused_with_a_reason(runtime: Runtime) -> None:
    catalogue = ObisCatalogue(runtime.sessions)
    found, problems = await catalogue.resolve(
        ["1-0:1.8.0.255", "1.0.1.8.0.255", "1-0:1.8.0*255", "1-0:128.8.0.255", "x"]
    )
    assert found == {"1-0:1.8.0.255": ENERGY, "1.0.1.8.0.255": ENERGY, "1-0:1.8.0*255": ENERGY}
    assert problems == {"1-0:128.8.0.255": UNKNOWN_OBIS, "x": INVALID_OBIS}


async def test_a_code_in_the_table_is_known(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        await obis_codes.get_or_create_ids(session, [PRIVATE])
        await session.commit()
    found, problems = await ObisCatalogue(runtime.sessions).resolve(["1-0:128.8.0.255"])
    assert (found, problems) == ({"1-0:128.8.0.255": PRIVATE}, {})


async def test_ids_are_created_once_with_the_profiles_name_and_unit(runtime: Runtime) -> None:
    catalogue = ObisCatalogue(runtime.sessions)
    first = await catalogue.ids_of([ENERGY])
    assert await catalogue.ids_of([ENERGY]) == first
    async with runtime.sessions() as session:
        entry = (await obis_codes.entries(session, [first[ENERGY]]))[first[ENERGY]]
    assert entry.code == ENERGY
    assert entry.name
    assert entry.unit in ("Wh", "kWh")
    # Another catalogue (another process) finds the same id.
    assert await ObisCatalogue(runtime.sessions).ids_of([ENERGY]) == first
