"""SQL for meters that reach the HES on their own (dial-in, push): who a system title or meter number is, and
the invocation counter of their last accepted ciphered push.

Each lookup answers with the meter's `MeterLinkRow` (hes.db.store.meter_links): what a DLMS session with it needs,
secrets still sealed, so the dispatcher can turn it into a MeterTarget and a MeterLink.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hes.db.store.meter_links import MeterLinkRow, link_query
from hes.db.tables import Meter

__all__ = ["by_numbers", "by_system_title", "settle_push_counters"]

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


async def settle_push_counters(session: AsyncSession, claims: Sequence[tuple[int, int]]) -> list[bool]:
    """Settle (meter id, invocation counter) claims in order against the meters' last accepted counters (no commit).

    A claim is accepted when its counter is above the meter's last accepted one, stored or accepted earlier in
    `claims`, and then becomes it. The meters' rows are locked in id order (as every writer of meter rows does),
    so instances settling the same meter take turns: a push reaching two of them is accepted once.
    """
    table = cast(Table, Meter.__table__)
    ids = sorted({meter_id for meter_id, _ in claims})
    rows = await session.execute(
        select(table.c.id, table.c.dlms_push_counter).where(table.c.id.in_(ids)).order_by(table.c.id).with_for_update()
    )
    last: dict[int, int | None] = dict(rows.tuples().all())
    advanced: dict[int, int] = {}
    accepted: list[bool] = []
    for meter_id, counter in claims:
        previous = advanced.get(meter_id, last.get(meter_id))
        ok = previous is None or counter > previous
        if ok:
            advanced[meter_id] = counter
        accepted.append(ok)
    if advanced:
        # updated_at is set to itself: a push is not an edit of the meter record.
        statement = (
            update(table)
            .where(table.c.id == bindparam("meter"))
            .values(dlms_push_counter=bindparam("counter"), updated_at=table.c.updated_at)
        )
        await session.execute(statement, [{"meter": meter, "counter": counter} for meter, counter in advanced.items()])
    return accepted
