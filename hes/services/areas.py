"""Areas: the network regions that meters, customers and users belong to."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from hes.db.store import areas, audit
from hes.db.tables import Area
from hes.errors import Conflict, InvalidInput, NotFound, Problem
from hes.services.listing import Listing, Pagination
from hes.services.principal import Principal


@dataclass(frozen=True)
class AreaFields:
    """Editable fields of an area."""

    code: str | None = None
    name: str | None = None
    parent_id: int | None = None
    description: str | None = None


async def list_areas(
    session: AsyncSession,
    principal: Principal,
    pagination: Pagination,
    search: str | None = None,
    sort: str | None = None,
    parent_id: int | None = None,
) -> Listing[Area]:
    """Areas the caller may see, one page."""
    visible = principal.area_ids or None
    rows, total = await areas.page(
        session,
        offset=pagination.offset,
        limit=pagination.limit,
        search=search,
        sort=sort,
        visible_ids=visible,
        parent_id=parent_id,
    )
    return Listing(rows, total, pagination)


async def get_area(session: AsyncSession, principal: Principal, area_id: int) -> Area:
    """One area the caller may see.

    Raises:
        NotFound: no such area, or outside the caller's areas.
    """
    area = await areas.by_id(session, area_id)
    if area is None or not principal.may_see_area(area.id):
        raise NotFound("area", area_id)
    return area


async def create_area(session: AsyncSession, principal: Principal, fields: AreaFields) -> Area:
    """Add an area.

    Raises:
        Conflict: the code is taken.
        InvalidInput: the parent does not exist.
    """
    assert fields.code is not None and fields.name is not None
    if await areas.code_exists(session, fields.code):
        raise Conflict("area code already exists", [Problem(f"{fields.code!r} is taken", field="code")])
    await _check_parent(session, None, fields.parent_id)
    area = Area(code=fields.code, name=fields.name, parent_id=fields.parent_id, description=fields.description)
    session.add(area)
    await session.flush()
    audit.record(session, principal.username, "create", "area", area.id, {"code": area.code})
    await session.commit()
    return area


async def update_area(
    session: AsyncSession, principal: Principal, area_id: int, fields: AreaFields, provided: frozenset[str]
) -> Area:
    """Change the `provided` fields of an area (a provided None clears an optional field).

    Raises:
        NotFound: no such area. Conflict: the new code is taken. InvalidInput: bad parent (or a cycle).
    """
    area = await get_area(session, principal, area_id)
    changes = {name: getattr(fields, name) for name in provided}
    if changes.get("code") is not None and await areas.code_exists(session, changes["code"], except_id=area.id):
        raise Conflict("area code already exists", [Problem(f"{fields.code!r} is taken", field="code")])
    if "parent_id" in changes:
        await _check_parent(session, area.id, fields.parent_id)
    for name, value in changes.items():
        setattr(area, name, value)
    audit.record(session, principal.username, "update", "area", area.id, changes)
    await session.commit()
    return area


async def delete_area(session: AsyncSession, principal: Principal, area_id: int) -> None:
    """Remove an empty area.

    Raises:
        NotFound: no such area. Conflict: meters, customers or sub-areas still belong to it.
    """
    area = await get_area(session, principal, area_id)
    if await areas.is_in_use(session, area.id):
        raise Conflict("area still has meters, customers or sub-areas; move them first")
    await session.delete(area)
    audit.record(session, principal.username, "delete", "area", area_id, {"code": area.code})
    await session.commit()


async def area_with_descendants(session: AsyncSession, area_id: int) -> frozenset[int]:
    """The area and every area below it (a filter on a region includes its sub-areas)."""
    return await areas_with_descendants(session, frozenset({area_id}))


async def areas_with_descendants(session: AsyncSession, roots: frozenset[int]) -> frozenset[int]:
    """The areas in `roots` and every area below them."""
    if not roots:
        return roots
    parents = await areas.parent_links(session)
    found = set(roots)
    changed = True
    while changed:
        below = {child for child, parent in parents.items() if parent in found}
        changed = not below <= found
        found |= below
    return frozenset(found)


async def resolve_area_filter(session: AsyncSession, principal: Principal, key: str | None) -> frozenset[int] | None:
    """Area ids a list is limited to: the `area` filter (code or name, with sub-areas) within the caller's areas.

    Returns None when nothing limits the list.

    Raises:
        InvalidInput: `key` names no area.
    """
    allowed = principal.area_ids or None
    if not key:
        return allowed
    area = await areas.by_code_or_name(session, key)
    if area is None:
        raise InvalidInput("unknown area", [Problem(f"no area with code or name {key!r}", field="area")])
    wanted = await area_with_descendants(session, area.id)
    return wanted & allowed if allowed is not None else wanted


async def _check_parent(session: AsyncSession, area_id: int | None, parent_id: int | None) -> None:
    if parent_id is None:
        return
    if await areas.by_id(session, parent_id) is None:
        raise InvalidInput("unknown parent area", [Problem(f"no area {parent_id}", field="parentId")])
    if area_id is not None and parent_id in await area_with_descendants(session, area_id):
        raise InvalidInput("an area cannot be inside itself", [Problem("cycle", field="parentId")])
