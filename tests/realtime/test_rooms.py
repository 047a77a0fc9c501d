"""Room names: the three forms parse; anything else names no room."""

from __future__ import annotations

import pytest

from hes.realtime.rooms import AllRoom, AreaRoom, MeterRoom, area_room, meter_room, parse_room, room_name


@pytest.mark.parametrize(
    ("name", "room"),
    [
        ("all", AllRoom()),
        ("meter-12", MeterRoom(12)),
        ("area-LAG-01", AreaRoom("LAG-01")),
        ("area-x y", AreaRoom("x y")),
    ],
)
def test_the_three_forms_parse_and_print_back(name: str, room: object) -> None:
    assert parse_room(name) == room
    assert room_name(parse_room(name)) == name  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "name",
    [
        "",
        "ALL",
        "meter-",
        "meter-0",
        "meter-012",
        "meter-2147483648",
        "meter-1 ",
        "area-",
        "area- X",
        "area-" + "A" * 33,
    ],
)
def test_other_names_are_no_room(name: str) -> None:
    assert parse_room(name) is None


def test_names_are_built_the_way_they_are_parsed() -> None:
    assert (meter_room(7), area_room("REG")) == ("meter-7", "area-REG")
    assert parse_room(meter_room(2**31 - 1)) == MeterRoom(2**31 - 1)
