"""SQL for customers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from hes.db.enums import CustomerStatus, CustomerType
from hes.db.store.existence import any_row, key_taken
from hes.db.store.listing import fetch_page, matching_text, order_by
from hes.db.tables import Customer, User

SORT_COLUMNS = {
    "accountNumber": Customer.account_number,
    "customerName": Customer.customer_name,
    "status": Customer.status,
    "connectionDate": Customer.connection_date,
    "createdAt": Customer.created_at,
}


async def by_id(session: AsyncSession, customer_id: int) -> Customer | None:
    """The customer with this id, if any."""
    return await session.get(Customer, customer_id)


async def account_exists(session: AsyncSession, account_number: str, *, except_id: int | None = None) -> bool:
    """True when another customer already has `account_number` (case-insensitive)."""
    return await key_taken(session, Customer.account_number, account_number, Customer.id, except_id)


async def has_user_accounts(session: AsyncSession, customer_id: int) -> bool:
    """True when a login account belongs to the customer."""
    return await any_row(session, [select(User.id).where(User.customer_id == customer_id)])


async def page(
    session: AsyncSession,
    *,
    offset: int,
    limit: int,
    search: str | None = None,
    sort: str | None = None,
    area_ids: frozenset[int] | None = None,
    status: CustomerStatus | None = None,
    customer_type: CustomerType | None = None,
    only_id: int | None = None,
) -> tuple[list[Customer], int]:
    """Customers matching the filters, one page, and the total."""
    query = select(Customer)
    if search:
        columns = [Customer.account_number, Customer.customer_name, Customer.phone_number, Customer.email]
        query = query.where(matching_text(search, columns))
    if area_ids is not None:
        query = query.where(Customer.area_id.in_(area_ids))
    if status is not None:
        query = query.where(Customer.status == status)
    if customer_type is not None:
        query = query.where(Customer.customer_type == customer_type)
    if only_id is not None:
        query = query.where(Customer.id == only_id)
    # Never-seen or blank values sort last both ways on both backends; the id breaks ties so pages never overlap.
    terms = order_by(sort, SORT_COLUMNS, "accountNumber")
    order: list[ColumnElement[Any]] = [*(term.nulls_last() for term in terms), Customer.id.asc()]
    return await fetch_page(session, query, order, offset, limit)
