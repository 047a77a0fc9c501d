"""SQL for users and the areas they are limited to."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hes.db.enums import Role
from hes.db.store.listing import fetch_page, matching_text, order_by
from hes.db.tables import Area, Customer, User, UserArea

SORT_COLUMNS = {
    "username": User.username,
    "role": User.role,
    "fullName": User.full_name,
    "createdAt": User.created_at,
    "lastLoginAt": User.last_login_at,
}


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


async def area_ids_of(session: AsyncSession, user_ids: Iterable[int]) -> dict[int, frozenset[int]]:
    """Areas each of several users is limited to, in one query (a user without limits maps to empty)."""
    wanted = set(user_ids)
    found: dict[int, set[int]] = {user_id: set() for user_id in wanted}
    if wanted:
        rows = await session.execute(select(UserArea.user_id, UserArea.area_id).where(UserArea.user_id.in_(wanted)))
        for user_id, area_id in rows.tuples():
            found[user_id].add(area_id)
    return {user_id: frozenset(areas) for user_id, areas in found.items()}


async def set_area_ids(session: AsyncSession, user_id: int, area_ids: Iterable[int]) -> None:
    """Replace the user's area limits."""
    await session.execute(delete(UserArea).where(UserArea.user_id == user_id))
    session.add_all(UserArea(user_id=user_id, area_id=area_id) for area_id in set(area_ids))


async def missing_area_ids(session: AsyncSession, area_ids: Iterable[int]) -> list[int]:
    """Those of `area_ids` that name no area, in ascending order."""
    wanted = set(area_ids)
    if not wanted:
        return []
    existing = set(await session.scalars(select(Area.id).where(Area.id.in_(wanted))))
    return sorted(wanted - existing)


async def customer_exists(session: AsyncSession, customer_id: int) -> bool:
    """True when the customer account exists."""
    return await session.scalar(select(Customer.id).where(Customer.id == customer_id)) is not None


async def count_admins(session: AsyncSession) -> int:
    """Active administrators (the last one may not be removed)."""
    total = await session.scalar(
        select(func.count()).select_from(User).where(User.role == Role.ADMIN, User.is_active.is_(True))
    )
    return int(total or 0)


async def lock_active_admin_ids(session: AsyncSession) -> frozenset[int]:
    """Ids of the active administrators, row-locked until commit on PostgreSQL.

    The lock makes two admins demoting each other at the same moment wait for one another, so the
    "last admin" check cannot pass twice. SQLite has one writer at a time and ignores FOR UPDATE.
    """
    rows = await session.scalars(
        select(User.id).where(User.role == Role.ADMIN, User.is_active.is_(True)).with_for_update()
    )
    return frozenset(rows)


async def page(
    session: AsyncSession,
    *,
    offset: int,
    limit: int,
    role: Role | None = None,
    search: str | None = None,
    is_active: bool | None = None,
    sort: str | None = None,
    area_ids: frozenset[int] | None = None,
) -> tuple[list[User], int]:
    """Users matching the filters, one page (by username unless `sort` says otherwise), with the total.

    `area_ids` keeps the users limited to at least one of those areas (unlimited users are not listed).
    """
    query = select(User)
    if area_ids is not None:
        query = query.where(User.id.in_(select(UserArea.user_id).where(UserArea.area_id.in_(area_ids))))
    if role:
        query = query.where(User.role == role)
    if is_active is not None:
        query = query.where(User.is_active.is_(is_active))
    if search:
        query = query.where(matching_text(search, [User.username, User.full_name, User.email]))
    return await fetch_page(session, query, order_by(sort, SORT_COLUMNS, "username"), offset, limit)
