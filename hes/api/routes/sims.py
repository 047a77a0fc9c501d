"""/api/sims: SIM cards, the meter each is in, and their history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from hes.api.deps import AreaQuery, Operator, PaginationDep, SearchQuery, SessionDep, SortQuery, Staff
from hes.api.schemas.common import Page, page_of
from hes.api.schemas.fields import RecordId
from hes.api.schemas.meters import AssignmentOut, RemovalOut
from hes.api.schemas.sims import SimCreate, SimOut, SimUpdate
from hes.db.enums import SimStatus
from hes.services import sims
from hes.services.sims import SimFilters

router = APIRouter(prefix="/api/sims", tags=["sims"])


@router.get("", response_model=Page[SimOut])
async def list_sims(
    session: SessionDep,
    principal: Staff,
    pagination: PaginationDep,
    search: SearchQuery = None,
    sort: SortQuery = None,
    area: AreaQuery = None,
    sim_status: Annotated[SimStatus | None, Query(alias="status")] = None,
    provider: Annotated[str | None, Query(max_length=60)] = None,
    assigned: Annotated[bool | None, Query(description="true: in a meter; false: in stock")] = None,
) -> Page[SimOut]:
    """SIM cards, paginated; `search` matches SIM number, ICCID, IMSI and MSISDN; `area` is the meter's area."""
    filters = SimFilters(area, sim_status, provider, assigned)
    listing = await sims.list_sims(session, principal, pagination, filters, search, sort)
    return page_of(listing, SimOut.of)


@router.get("/{sim_id}", response_model=SimOut)
async def get_sim(sim_id: RecordId, session: SessionDep, principal: Staff) -> SimOut:
    """One SIM card and the meter it is in."""
    return SimOut.of(await sims.get_sim(session, principal, sim_id))


@router.get("/{sim_id}/assignments", response_model=Page[AssignmentOut])
async def list_sim_assignments(
    sim_id: RecordId, session: SessionDep, principal: Staff, pagination: PaginationDep
) -> Page[AssignmentOut]:
    """Every meter the SIM card served, and when; newest first."""
    listing = await sims.sim_history(session, principal, sim_id, pagination)
    return page_of(listing, AssignmentOut.model_validate)


@router.post("", response_model=SimOut, status_code=status.HTTP_201_CREATED)
async def create_sim(body: SimCreate, session: SessionDep, principal: Operator) -> SimOut:
    """Add a SIM card to the stock."""
    return SimOut.of(await sims.create_sim(session, principal, body.to_fields()))


@router.put("/{sim_id}", response_model=SimOut)
async def update_sim(sim_id: RecordId, body: SimUpdate, session: SessionDep, principal: Operator) -> SimOut:
    """Change a SIM card; only the fields sent change. Link it to a meter through PUT /api/meters/{id}."""
    fields, provided = body.to_fields()
    return SimOut.of(await sims.update_sim(session, principal, sim_id, fields, provided))


@router.delete("/{sim_id}", response_model=RemovalOut)
async def delete_sim(sim_id: RecordId, session: SessionDep, principal: Operator) -> RemovalOut:
    """Delete a SIM card that never served a meter; otherwise set its status to inactive."""
    await sims.delete_sim(session, principal, sim_id)
    return RemovalOut(outcome="deleted")
