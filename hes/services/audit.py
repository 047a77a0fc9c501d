"""The audit log: who changed what, when (written by every service, read by administrators)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from hes.db.store import audit
from hes.db.tables import AuditEntry
from hes.services.listing import Listing, Pagination


async def list_entries(
    session: AsyncSession,
    pagination: Pagination,
    *,
    actor: str | None = None,
    entity: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
) -> Listing[AuditEntry]:
    """Audit rows, newest first, one page; a `since` without an offset is taken as UTC."""
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    rows, total = await audit.page(
        session,
        offset=pagination.offset,
        limit=pagination.limit,
        actor=actor,
        entity=entity,
        action=action,
        since=since,
    )
    return Listing(rows, total, pagination)
