"""SQL for the audit log."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from hes.db.store.listing import fetch_page
from hes.db.tables import AuditEntry


def record(
    session: AsyncSession,
    actor: str,
    action: str,
    entity: str,
    entity_id: object | None,
    details: Mapping[str, object] | None = None,
) -> None:
    """Add an audit row to the caller's transaction (written with the change it describes)."""
    session.add(
        AuditEntry(
            actor=actor,
            action=action,
            entity=entity,
            entity_id=None if entity_id is None else str(entity_id),
            details=dict(details) if details else None,
        )
    )


async def page(
    session: AsyncSession,
    *,
    offset: int,
    limit: int,
    actor: str | None = None,
    entity: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
) -> tuple[list[AuditEntry], int]:
    """Newest audit rows first, filtered, with the total count."""
    query: Select[tuple[AuditEntry]] = select(AuditEntry)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if entity:
        query = query.where(AuditEntry.entity == entity)
    if action:
        query = query.where(AuditEntry.action == action)
    if since:
        query = query.where(AuditEntry.at >= since)
    # The id breaks ties between rows written in the same instant, in the order they were written.
    return await fetch_page(session, query, [AuditEntry.at.desc(), AuditEntry.id.desc()], offset, limit)
