"""SQL for the slots periodic jobs ran for: claiming one is what makes it run once across instances."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from hes.db.tables import JobSlot


async def claim(connection: AsyncConnection, job: str, slot: datetime) -> bool:
    """Record `slot` as `job`'s last claimed one if it is later than the one recorded (PostgreSQL; no commit);
    whether it was, so whether the caller runs it.

    One INSERT ... ON CONFLICT DO UPDATE ... WHERE, so two instances claiming the same slot get one yes.
    """
    statement = insert(JobSlot).values(job=job, last_slot=slot)
    statement = statement.on_conflict_do_update(
        index_elements=[JobSlot.job],
        set_={"last_slot": statement.excluded.last_slot},
        where=JobSlot.last_slot < statement.excluded.last_slot,
    )
    return await connection.scalar(statement.returning(JobSlot.job)) is not None
