"""Room visibility straight from the rules: roles, area limits with their sub-areas, customers' own meters."""

from __future__ import annotations

import pytest

from hes.db.enums import Role
from hes.db.tables import Meter
from hes.errors import PermissionDenied
from hes.realtime.access import room_for
from hes.realtime.rooms import AllRoom, AreaRoom, MeterRoom, Room
from hes.runtime import Runtime
from hes.services.principal import Principal
from tests.realtime.conftest import Fleet


async def _allowed(runtime: Runtime, principal: Principal, room: Room) -> str | None:
    async with runtime.sessions() as session:
        try:
            return await room_for(session, principal, room)
        except PermissionDenied:
            return None


async def test_an_admin_sees_every_room_even_with_area_limits(runtime: Runtime, fleet: Fleet) -> None:
    admin = Principal(1, "root", Role.ADMIN, area_ids=frozenset({fleet.elsewhere.id}))
    assert await _allowed(runtime, admin, AllRoom()) == "all"
    assert await _allowed(runtime, admin, AreaRoom("fdr")) == "area-FDR"
    assert await _allowed(runtime, admin, MeterRoom(fleet.region_meter.id)) == f"meter-{fleet.region_meter.id}"


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.VIEWER])
async def test_area_limits_reach_down_into_sub_areas_but_not_up_or_across(
    runtime: Runtime, fleet: Fleet, role: Role
) -> None:
    in_feeder = Principal(2, "f", role, area_ids=frozenset({fleet.feeder.id}))
    assert await _allowed(runtime, in_feeder, AreaRoom("FDR")) == "area-FDR"
    assert await _allowed(runtime, in_feeder, MeterRoom(fleet.feeder_meter.id)) is not None
    for room in [AreaRoom("REG"), MeterRoom(fleet.region_meter.id), AreaRoom("ELS"), AllRoom()]:
        assert await _allowed(runtime, in_feeder, room) is None, room


async def test_a_meter_without_an_area_is_for_unlimited_staff_only(runtime: Runtime, fleet: Fleet) -> None:
    async with runtime.sessions() as session:
        loose = Meter(meter_number="M-NOWHERE")
        session.add(loose)
        await session.commit()
    assert await _allowed(runtime, Principal(3, "v", Role.VIEWER), MeterRoom(loose.id)) is not None
    limited = Principal(4, "l", Role.VIEWER, area_ids=frozenset({fleet.region.id}))
    assert await _allowed(runtime, limited, MeterRoom(loose.id)) is None


async def test_a_customer_without_an_account_link_sees_nothing(runtime: Runtime, fleet: Fleet) -> None:
    orphan = Principal(5, "c", Role.CUSTOMER)
    assert await _allowed(runtime, orphan, MeterRoom(fleet.region_meter.id)) is None
    owner = Principal(6, "a", Role.CUSTOMER, customer_id=fleet.alice.id)
    assert await _allowed(runtime, owner, MeterRoom(fleet.region_meter.id)) is not None
