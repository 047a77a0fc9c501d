"""Areas named in a cell: by code or name, case-insensitive, within the caller's areas."""

from __future__ import annotations

from hes.db.enums import Role
from hes.db.store.imports import AreaKey
from hes.services.imports.csv_source import SourceRow
from hes.services.imports.references import AreaLookup
from hes.services.imports.rows import Cells
from hes.services.principal import Principal

AREAS = [
    AreaKey(1, "NORTH", "North Region"),
    AreaKey(2, "SOUTH", "Coast"),
    AreaKey(3, "EAST", "Coast"),
    AreaKey(4, "COAST", "Bay"),
]
ANYONE = Principal(1, "op", Role.OPERATOR)


def _read(value: str, principal: Principal = ANYONE) -> tuple[int | None, list[str]]:
    cells = Cells(SourceRow(2, {"area": value}))
    area_id = AreaLookup(AREAS, principal).read(cells, "area")
    return area_id, [problem.message for problem in cells.problems]


def test_areas_resolve_by_code_then_name_case_insensitive() -> None:
    assert _read("north") == (1, [])
    assert _read("north region") == (1, [])
    assert _read("COAST") == (4, [])  # a code wins over two areas named "Coast"
    assert _read("") == (None, [])


def test_unknown_and_ambiguous_names_are_refused() -> None:
    assert _read("Atlantis")[1] == ["no area with this code or name"]
    lookup = AreaLookup([AreaKey(2, "S", "Coast"), AreaKey(3, "E", "Coast")], ANYONE)
    cells = Cells(SourceRow(2, {"area": "coast"}))
    assert lookup.read(cells, "area") is None and "use the area code" in cells.problems[0].message


def test_a_limited_caller_must_name_one_of_their_areas() -> None:
    limited = Principal(2, "north-op", Role.OPERATOR, area_ids=frozenset({1}))
    assert _read("NORTH", limited) == (1, [])
    assert _read("SOUTH", limited)[1] == ["outside the areas you are assigned to"]
    assert "required" in _read("", limited)[1][0]
