"""Room names: `meter-{id}`, `area-{code}` and `all`, formatted and parsed in one place."""

from __future__ import annotations

import re
from dataclasses import dataclass

ALL_ROOM = "all"

_METER = re.compile(r"meter-([1-9][0-9]{0,9})")
# meters.id is a 32-bit integer column; a larger number names no meter (and PostgreSQL would refuse the bind).
_MAX_METER_ID = 2**31 - 1
# Area codes are at most 32 characters (areas.code); anything longer cannot name an area.
_AREA = re.compile(r"area-(.{1,32})", re.DOTALL)


@dataclass(frozen=True, slots=True)
class MeterRoom:
    """The room of one meter."""

    meter_id: int


@dataclass(frozen=True, slots=True)
class AreaRoom:
    """The room of one area (the meters directly in it)."""

    area_code: str


@dataclass(frozen=True, slots=True)
class AllRoom:
    """Every meter of the fleet."""


Room = MeterRoom | AreaRoom | AllRoom


def meter_room(meter_id: int) -> str:
    """The room name of a meter."""
    return f"meter-{meter_id}"


def area_room(area_code: str) -> str:
    """The room name of an area."""
    return f"area-{area_code}"


def parse_room(name: str) -> Room | None:
    """The room a client named, or None when the name is not one of the three forms."""
    if name == ALL_ROOM:
        return AllRoom()
    meter = _METER.fullmatch(name)
    if meter is not None:
        meter_id = int(meter.group(1))
        return MeterRoom(meter_id) if meter_id <= _MAX_METER_ID else None
    area = _AREA.fullmatch(name)
    if area is not None and area.group(1).strip() == area.group(1):
        return AreaRoom(area.group(1))
    return None


def room_name(room: Room) -> str:
    """The canonical name of a parsed room."""
    if isinstance(room, MeterRoom):
        return meter_room(room.meter_id)
    if isinstance(room, AreaRoom):
        return area_room(room.area_code)
    return ALL_ROOM
