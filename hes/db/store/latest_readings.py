"""SQL for each meter's newest value per OBIS code (`latest_readings`): the console's "now" without a scan."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from hes.db.store.ingest_batches import STAGED_PG, STAGING
from hes.db.tables import LatestReading

# Newest staged row per (meter, code); it replaces the stored one only when it is newer, so a late or
# replayed batch never moves a meter's "now" backwards. DISTINCT ON walks the keys in order, which is
# also the order rows are locked in: two writers updating the same meters wait instead of deadlocking.
_UPSERT_PG = text(
    "INSERT INTO latest_readings (meter_id, obis_id, ts, value) "
    f"SELECT DISTINCT ON (meter_id, obis_id) meter_id, obis_id, ts, value FROM {STAGED_PG} AS staged "
    "ORDER BY meter_id, obis_id, ts DESC "
    "ON CONFLICT (meter_id, obis_id) DO UPDATE SET ts = EXCLUDED.ts, value = EXCLUDED.value "
    "WHERE latest_readings.ts < EXCLUDED.ts"
)
# SQLite: with max() in the select list, the bare columns come from the row holding the maximum.
# Times are stored as fixed-width UTC text, so text order is time order.
_UPSERT_SQLITE = text(
    "INSERT INTO latest_readings (meter_id, obis_id, ts, value) "
    f"SELECT meter_id, obis_id, max(ts), value FROM {STAGING} WHERE true GROUP BY meter_id, obis_id "
    "ON CONFLICT (meter_id, obis_id) DO UPDATE SET ts = excluded.ts, value = excluded.value "
    "WHERE latest_readings.ts < excluded.ts"
)


@dataclass(frozen=True, slots=True)
class LatestValue:
    """A meter's newest value of one OBIS code (by id)."""

    obis_id: int
    ts: datetime
    value: float


async def upsert_from_staging(session: AsyncSession) -> None:
    """Raise each (meter, code) in the ingest staging table to its newest staged value (no commit).

    Call it between `ingest_batches.stage` and `ingest_batches.clear_staged`.
    """
    postgresql = session.get_bind().dialect.name == "postgresql"
    await session.execute(_UPSERT_PG if postgresql else _UPSERT_SQLITE)


async def for_meter(session: AsyncSession, meter_id: int) -> list[LatestValue]:
    """The newest value of each OBIS code the meter has sent, by OBIS id."""
    rows = await session.execute(
        select(LatestReading.obis_id, LatestReading.ts, LatestReading.value)
        .where(LatestReading.meter_id == meter_id)
        .order_by(LatestReading.obis_id)
    )
    return [LatestValue(*row) for row in rows.tuples()]
