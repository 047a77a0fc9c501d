"""SQL for users and the areas they are limited to."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hes.db.enums import Role
from hes.db.tables import User, UserArea


async def by_username(session: AsyncSession, username: str) -> User | None:
    """The user with this username (case-insensitive), if any."""
    user: User | None = await session.scalar(select(User).where(func.lower(User.username) == username.lower()))
    return user


async def by_id(session: AsyncSession, user_id: int) -> User | None:
    """The user with this id, if any."""
    return await session.get(User, user_id)


async def area_ids(session: AsyncSession, user_id: int) -> frozenset[int]:
    """Areas the user is limited to (empty: all)."""
    rows = await session.scalars(select(UserArea.area_id).where(UserArea.user_id == user_id))
    return frozenset(rows)


async def set_area_ids(session: AsyncSession, user_id: int, area_ids: Iterable[int]) -> None:
    """Replace the user's area limits."""
    await session.execute(delete(UserArea).where(UserArea.user_id == user_id))
    session.add_all(UserArea(user_id=user_id, area_id=area_id) for area_id in set(area_ids))


async def count_admins(session: AsyncSession) -> int:
    """Active administrators (the last one may not be removed)."""
    total = await session.scalar(
        select(func.count()).select_from(User).where(User.role == Role.ADMIN, User.is_active.is_(True))
    )
    return int(total or 0)


async def page(
    session: AsyncSession, *, offset: int, limit: int, role: Role | None = None, search: str | None = None
) -> tuple[list[User], int]:
    """Users ordered by username, filtered, with the total count."""
    query = select(User)
    if role:
        query = query.where(User.role == role)
    if search:
        pattern = f"%{search.lower()}%"
        query = query.where(func.lower(User.username).like(pattern) | func.lower(User.full_name).like(pattern))
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(query.order_by(User.username).offset(offset).limit(limit))
    return list(rows), int(total or 0)
