"""Which rooms a signed-in user may join: the same visibility rules as the REST API, applied to rooms."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from hes.db.enums import Role
from hes.db.store import realtime as store
from hes.errors import PermissionDenied
from hes.realtime.rooms import ALL_ROOM, AllRoom, AreaRoom, Room, area_room, meter_room, room_name
from hes.services.principal import Principal


async def room_for(session: AsyncSession, principal: Principal, room: Room) -> str:
    """The canonical name of `room` when `principal` may watch it.

    Admins see everything; staff with area limits see their areas and the areas below them; a customer sees only
    the rooms of its own meters; `all` is for staff without area limits.

    Raises:
        PermissionDenied: the room is outside what the principal may see, or names no meter or area
            (one message for both, so a refusal does not reveal what exists).
    """
    refused = PermissionDenied(f"you may not join {room_name(room)}")
    if isinstance(room, AllRoom):
        if principal.is_customer or (principal.area_ids and principal.role is not Role.ADMIN):
            raise refused
        return ALL_ROOM
    if isinstance(room, AreaRoom):
        if principal.is_customer:
            raise refused
        area = await store.area_by_code(session, room.area_code)
        if area is None or not _may_see_area(principal, area[0]):
            raise refused
        return area_room(area[1])
    placement = await store.meter_placement(session, room.meter_id)
    if placement is None:
        raise refused
    if principal.is_customer:
        if principal.customer_id is None or placement.customer_id != principal.customer_id:
            raise refused
    elif not _may_see_area(principal, placement.area_id):
        raise refused
    return meter_room(placement.meter_id)


def _may_see_area(principal: Principal, area_id: int | None) -> bool:
    # The principal's areas already include every area below the ones the user is assigned (services.auth).
    if principal.role is Role.ADMIN or not principal.area_ids:
        return True
    return area_id is not None and area_id in principal.area_ids
