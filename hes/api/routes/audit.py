"""/api/audit: the audit log, administrators only."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from hes.api.deps import Admin, PaginationDep, SessionDep
from hes.api.schemas.audit import AuditEntryOut
from hes.api.schemas.common import Page, page_of
from hes.services import audit

router = APIRouter(prefix="/api/audit", tags=["audit"])


@router.get("", response_model=Page[AuditEntryOut])
async def list_audit_entries(
    session: SessionDep,
    _principal: Admin,
    pagination: PaginationDep,
    actor: Annotated[str | None, Query(max_length=64, description="Username that made the change")] = None,
    entity: Annotated[str | None, Query(max_length=40, description="Kind of record, e.g. user, meter")] = None,
    action: Annotated[str | None, Query(max_length=40, description="e.g. create, update, login")] = None,
    since: Annotated[datetime | None, Query(description="ISO 8601; without an offset, UTC")] = None,
) -> Page[AuditEntryOut]:
    """Changes made through HES Core, newest first."""
    listing = await audit.list_entries(session, pagination, actor=actor, entity=entity, action=action, since=since)
    return page_of(listing, AuditEntryOut.model_validate)
