"""SQL for the meter event log."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from hes.db.tables import Event
from hes.ingest.records import IncomingEvent


async def insert_events(session: AsyncSession, events: Sequence[IncomingEvent]) -> list[int]:
    """Add `events` to the caller's transaction (no commit); return their ids in the same order."""
    if not events:
        return []
    statement = insert(Event).returning(Event.id, sort_by_parameter_order=True)
    rows = await session.execute(statement, [_values(event) for event in events])
    return list(rows.scalars())


def _values(event: IncomingEvent) -> dict[str, object]:
    return {
        "meter_id": event.meter_id,
        "event_type": event.event_type,
        "code": event.code,
        "severity": event.severity,
        "category": event.category,
        "occurred_at": event.timestamp,
        "details": dict(event.details) or None,
    }
