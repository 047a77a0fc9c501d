"""Customers: the utility's accounts, the meters that supply them, and their history."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from hes.db.enums import CustomerStatus, CustomerType
from hes.db.store import areas as area_store
from hes.db.store import assignments as assignment_store
from hes.db.store import audit, customers
from hes.db.store import meters as meter_store
from hes.db.tables import Customer, Meter
from hes.errors import Conflict, InvalidInput, NotFound, Problem
from hes.services import areas, assignments, meters
from hes.services.assignments import AssignmentView
from hes.services.listing import Listing, Pagination
from hes.services.meters import MeterFilters, Removal
from hes.services.principal import Principal


@dataclass(frozen=True)
class CustomerFields:
    """Editable fields of a customer."""

    customer_name: str | None = None
    account_number: str | None = None
    address: str | None = None
    phone_number: str | None = None
    email: str | None = None
    area_id: int | None = None
    customer_type: CustomerType | None = None
    tariff_plan: str | None = None
    connection_date: date | None = None
    status: CustomerStatus | None = None


@dataclass(frozen=True)
class CustomerFilters:
    """What a customer list is narrowed to."""

    area: str | None = None
    status: CustomerStatus | None = None
    customer_type: CustomerType | None = None


async def list_customers(
    session: AsyncSession,
    principal: Principal,
    pagination: Pagination,
    filters: CustomerFilters,
    search: str | None = None,
    sort: str | None = None,
) -> Listing[Customer]:
    """Customers the caller may see, one page; a customer sees only their own record."""
    only_id: int | None = None
    if principal.is_customer:
        if principal.customer_id is None:
            return Listing([], 0, pagination)
        only_id = principal.customer_id
    rows, total = await customers.page(
        session,
        offset=pagination.offset,
        limit=pagination.limit,
        search=search,
        sort=sort,
        area_ids=await areas.resolve_area_filter(session, principal, filters.area),
        status=filters.status,
        customer_type=filters.customer_type,
        only_id=only_id,
    )
    return Listing(rows, total, pagination)


async def get_customer(session: AsyncSession, principal: Principal, customer_id: int) -> Customer:
    """One customer the caller may see.

    Raises:
        NotFound: no such customer, outside the caller's areas, or (for a customer) someone else.
    """
    customer = await customers.by_id(session, customer_id)
    if customer is None or not _may_see(principal, customer):
        raise NotFound("customer", customer_id)
    return customer


async def create_customer(session: AsyncSession, principal: Principal, new: CustomerFields) -> Customer:
    """Add a customer account.

    Raises:
        Conflict: the account number is taken. InvalidInput: unknown area.
        PermissionDenied: the area is outside the caller's areas.
    """
    assert new.account_number is not None and new.customer_name is not None
    changes = {name: value for name, value in vars(new).items() if value is not None}
    await _check(session, principal, None, changes)
    customer = Customer(**changes)
    session.add(customer)
    await session.flush()
    audit.record(session, principal.username, "create", "customer", customer.id, _audit_details(changes))
    await session.commit()
    return customer


async def update_customer(
    session: AsyncSession, principal: Principal, customer_id: int, update: CustomerFields, provided: frozenset[str]
) -> Customer:
    """Change the `provided` fields of a customer (a provided None clears an optional field).

    Raises:
        NotFound: no such customer. Conflict: account number taken, or closing an account meters still supply.
        InvalidInput: unknown area. PermissionDenied: the customer or its new area is outside the caller's areas.
    """
    customer = await get_customer(session, principal, customer_id)
    principal.require_area(customer.area_id)
    changes = {name: getattr(update, name) for name in provided}
    await _check(session, principal, customer, changes)
    if changes.get("status") is CustomerStatus.CLOSED and await meter_store.customer_has_meters(session, customer.id):
        raise Conflict(
            "meters still supply this customer; move or release them first",
            [Problem("meters are linked", field="status")],
        )
    for name, value in changes.items():
        setattr(customer, name, value)
    audit.record(session, principal.username, "update", "customer", customer.id, _audit_details(changes))
    await session.commit()
    return customer


async def delete_customer(session: AsyncSession, principal: Principal, customer_id: int) -> Removal:
    """Delete a customer without history; one with history (or a login) is closed instead.

    Raises:
        NotFound: no such customer. Conflict: meters still supply the customer.
        PermissionDenied: outside the caller's areas.
    """
    customer = await get_customer(session, principal, customer_id)
    principal.require_area(customer.area_id)
    if await meter_store.customer_has_meters(session, customer.id):
        raise Conflict("meters still supply this customer; move or release them first")
    kept = await assignment_store.exists_for(session, customer_id=customer.id) or await customers.has_user_accounts(
        session, customer.id
    )
    details = {"accountNumber": customer.account_number}
    if not kept:
        await session.delete(customer)
        audit.record(session, principal.username, "delete", "customer", customer_id, details)
        await session.commit()
        return Removal.DELETED
    if customer.status is not CustomerStatus.CLOSED:
        customer.status = CustomerStatus.CLOSED
        audit.record(session, principal.username, "close", "customer", customer.id, details)
        await session.commit()
    return Removal.CLOSED


async def customer_meters(
    session: AsyncSession,
    principal: Principal,
    customer_id: int,
    pagination: Pagination,
    search: str | None = None,
    sort: str | None = None,
) -> Listing[Meter]:
    """Meters supplying the customer now.

    Raises:
        NotFound: no such customer, or not visible to the caller.
    """
    customer = await get_customer(session, principal, customer_id)
    return await meters.list_meters(session, principal, pagination, MeterFilters(customer_id=customer.id), search, sort)


async def customer_history(
    session: AsyncSession, principal: Principal, customer_id: int, pagination: Pagination
) -> Listing[AssignmentView]:
    """Every meter that supplied the customer and when, newest first.

    Raises:
        NotFound: no such customer, or not visible to the caller.
    """
    customer = await get_customer(session, principal, customer_id)
    return await assignments.history(session, pagination, customer_id=customer.id)


def _may_see(principal: Principal, customer: Customer) -> bool:
    if principal.is_customer and customer.id != principal.customer_id:
        return False
    return principal.may_see_area(customer.area_id)


async def _check(
    session: AsyncSession, principal: Principal, customer: Customer | None, changes: Mapping[str, object]
) -> None:
    """Refuse the changes before anything is written."""
    area_id = changes.get("area_id")
    if isinstance(area_id, int) and await area_store.by_id(session, area_id) is None:
        raise InvalidInput("unknown area", [Problem(f"no area {area_id}", field="areaId")])
    if "area_id" in changes:
        principal.require_area(area_id if isinstance(area_id, int) else None)
    account = changes.get("account_number")
    except_id = customer.id if customer is not None else None
    if isinstance(account, str) and await customers.account_exists(session, account, except_id=except_id):
        raise Conflict("account number already exists", [Problem(f"{account!r} is taken", field="accountNumber")])


def _audit_details(changes: Mapping[str, object]) -> dict[str, object]:
    return {name: value.isoformat() if isinstance(value, date) else value for name, value in changes.items()}
