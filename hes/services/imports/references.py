"""What every row of one import shares: the caller, one timestamp, and the areas a cell may name."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from hes.db.store.imports import AreaKey
from hes.services.imports.rows import Cells
from hes.services.principal import Principal


class AreaLookup:
    """Areas by code or name, case-insensitive; a code wins over a name, an ambiguous name is refused."""

    def __init__(self, areas: Iterable[AreaKey], principal: Principal) -> None:
        self._principal = principal
        self._by_code: dict[str, int] = {}
        self._by_name: dict[str, list[int]] = {}
        for area in areas:
            self._by_code[area.code.lower()] = area.id
            self._by_name.setdefault(area.name.lower(), []).append(area.id)

    def read(self, cells: Cells, column: str) -> int | None:
        """The area a cell names, or None when empty; a caller limited to areas must name one of theirs."""
        key = cells.raw(column)
        if not key:
            if self._principal.area_ids:
                cells.fail(column, "required: your account is limited to some areas; name one of them")
            return None
        lowered = key.lower()
        area_id = self._by_code.get(lowered)
        if area_id is None:
            named = self._by_name.get(lowered, [])
            if len(named) > 1:
                cells.fail(column, "several areas have this name; use the area code", key)
                return None
            area_id = named[0] if named else None
        if area_id is None:
            cells.fail(column, "no area with this code or name", key)
            return None
        if not self._principal.may_see_area(area_id):
            cells.fail(column, "outside the areas you are assigned to", key)
            return None
        return area_id


@dataclass(frozen=True)
class ImportContext:
    """The caller, the areas, and the one timestamp every row of the import is written with."""

    principal: Principal
    areas: AreaLookup
    at: datetime
