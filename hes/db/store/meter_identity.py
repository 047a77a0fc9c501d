"""SQL for meters that reach the HES on their own (dial-in, push): who a system title or meter number is, and
the invocation counter of their last accepted ciphered push.

Each lookup answers with the meter's `MeterLinkRow` (hes.db.store.meter_links): what a DLMS session with it needs,
secrets still sealed, so the dispatcher can turn it into a MeterTarget and a MeterLink.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from hes.db.store.meter_links import MeterLinkRow, link_query
from hes.db.tables import Meter

__all__ = ["advance_push_counter", "by_numbers", "by_system_title"]

# Numbers per lookup at most: a push or an identification names a handful; far below any bound-parameter limit.
_MAX_NUMBERS = 1_000


async def by_system_title(session: AsyncSession, system_title: bytes) -> MeterLinkRow | None:
    """The meter whose system title is `system_title` (8 octets), or None (also when two meters share it)."""
    rows = await session.execute(link_query().where(Meter.dlms_system_title == system_title.hex().upper()).limit(2))
    found = [MeterLinkRow(*row) for row in rows.tuples()]
    # Two meters with one title cannot be told apart by it: neither is taken (the caller refuses the push).
    return found[0] if len(found) == 1 else None


async def by_numbers(session: AsyncSession, numbers: Collection[str]) -> list[MeterLinkRow]:
    """The meters with exactly these numbers (numbers no meter has are left out; the first 1,000 are looked up)."""
    wanted = list(dict.fromkeys(numbers))[:_MAX_NUMBERS]
    if not wanted:
        return []
    rows = await session.execute(link_query().where(Meter.meter_number.in_(wanted)))
    return [MeterLinkRow(*row) for row in rows.tuples()]


async def advance_push_counter(session: AsyncSession, meter_id: int, counter: int) -> bool:
    """Make `counter` the meter's last accepted push counter if it is above the stored one (no commit).

    Returns False when it is not: the push is a replay, wherever and whenever the first copy arrived. One
    conditional UPDATE, so two instances given the same push accept it once.
    """
    stored = Meter.dlms_push_counter
    result = await session.execute(
        update(Meter)
        .where(Meter.id == meter_id, or_(stored.is_(None), stored < counter))
        # updated_at is set to itself: a push is not an edit of the meter record.
        .values(dlms_push_counter=counter, updated_at=Meter.updated_at)
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1
