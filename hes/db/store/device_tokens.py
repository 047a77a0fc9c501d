"""SQL for device tokens: the bearer secrets meters and gateways send data with (only their hashes are kept)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TypedDict

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hes.db.tables import DeviceToken


class Holder(TypedDict):
    """Whom a token belongs to, as keyword arguments: one meter, or one concentrator (the other is None)."""

    meter_id: int | None
    concentrator_id: str | None


@dataclass(frozen=True, slots=True)
class DeviceGrant:
    """A live token's holder: one meter (`meter_id`) or a gateway for one concentrator's meters."""

    token_id: int
    meter_id: int | None
    concentrator_id: str | None


def add(
    session: AsyncSession,
    token_hash: str,
    created_by: str,
    at: datetime,
    *,
    meter_id: int | None = None,
    concentrator_id: str | None = None,
) -> None:
    """Add a token row to the caller's transaction (exactly one of `meter_id` and `concentrator_id`)."""
    if (meter_id is None) == (concentrator_id is None):
        raise ValueError("a device token belongs to one meter or to one concentrator")
    session.add(
        DeviceToken(
            token_hash=token_hash,
            meter_id=meter_id,
            concentrator_id=concentrator_id,
            created_by=created_by,
            created_at=at,
        )
    )


async def revoke(
    session: AsyncSession, at: datetime, *, meter_id: int | None = None, concentrator_id: str | None = None
) -> list[str]:
    """Revoke the live tokens of a meter or of a concentrator (no commit); return their hashes."""
    revoked = await session.execute(
        update(DeviceToken)
        .where(_holder(meter_id, concentrator_id), DeviceToken.revoked_at.is_(None))
        .values(revoked_at=at)
        .returning(DeviceToken.token_hash)
        .execution_options(synchronize_session=False)
    )
    return list(revoked.scalars())


async def use(session: AsyncSession, token_hash: str, at: datetime) -> DeviceGrant | None:
    """The live token with this hash, its last use set to `at` (no commit); None if unknown or revoked."""
    row = (
        await session.execute(
            select(DeviceToken.id, DeviceToken.meter_id, DeviceToken.concentrator_id).where(
                DeviceToken.token_hash == token_hash, DeviceToken.revoked_at.is_(None)
            )
        )
    ).first()
    if row is None:
        return None
    await session.execute(
        update(DeviceToken)
        .where(DeviceToken.id == row.id)
        .values(last_used_at=at)
        .execution_options(synchronize_session=False)
    )
    return DeviceGrant(row.id, row.meter_id, row.concentrator_id)


def _holder(meter_id: int | None, concentrator_id: str | None) -> ColumnElement[bool]:
    if meter_id is not None:
        return DeviceToken.meter_id == meter_id
    if concentrator_id is not None:
        return DeviceToken.concentrator_id == concentrator_id
    raise ValueError("name the meter or the concentrator whose tokens to revoke")
