"""/api/areas: network areas."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from hes.api.deps import Operator, PaginationDep, SearchQuery, SessionDep, SortQuery, Staff
from hes.api.schemas.areas import AreaCreate, AreaOut, AreaUpdate
from hes.api.schemas.common import Page, page_of
from hes.api.schemas.fields import MAX_RECORD_ID, RecordId
from hes.services import areas
from hes.services.areas import AreaFields

router = APIRouter(prefix="/api/areas", tags=["areas"])


@router.get("", response_model=Page[AreaOut])
async def list_areas(
    session: SessionDep,
    principal: Staff,
    pagination: PaginationDep,
    search: SearchQuery = None,
    sort: SortQuery = None,
    parent_id: Annotated[int | None, Query(alias="parentId", ge=1, le=MAX_RECORD_ID)] = None,
) -> Page[AreaOut]:
    """Areas, paginated; `search` matches code and name."""
    listing = await areas.list_areas(session, principal, pagination, search, sort, parent_id)
    return page_of(listing, AreaOut.model_validate)


@router.get("/{area_id}", response_model=AreaOut)
async def get_area(area_id: RecordId, session: SessionDep, principal: Staff) -> AreaOut:
    """One area."""
    return AreaOut.model_validate(await areas.get_area(session, principal, area_id))


@router.post("", response_model=AreaOut, status_code=status.HTTP_201_CREATED)
async def create_area(body: AreaCreate, session: SessionDep, principal: Operator) -> AreaOut:
    """Add an area."""
    area = await areas.create_area(session, principal, AreaFields(**body.model_dump()))
    return AreaOut.model_validate(area)


@router.put("/{area_id}", response_model=AreaOut)
async def update_area(area_id: RecordId, body: AreaUpdate, session: SessionDep, principal: Operator) -> AreaOut:
    """Change an area; only the fields sent are changed."""
    fields = AreaFields(**body.model_dump())
    area = await areas.update_area(session, principal, area_id, fields, frozenset(body.model_fields_set))
    return AreaOut.model_validate(area)


@router.delete("/{area_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_area(area_id: RecordId, session: SessionDep, principal: Operator) -> None:
    """Remove an area that nothing belongs to."""
    await areas.delete_area(session, principal, area_id)
