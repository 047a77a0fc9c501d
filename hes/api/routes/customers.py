"""/api/customers: customer accounts, the meters supplying them, and their history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from hes.api.deps import AnyUser, AreaQuery, Operator, PaginationDep, SearchQuery, SessionDep, SortQuery
from hes.api.schemas.common import Page, page_of
from hes.api.schemas.customers import CustomerCreate, CustomerOut, CustomerUpdate
from hes.api.schemas.fields import RecordId
from hes.api.schemas.meters import AssignmentOut, MeterOut, RemovalOut
from hes.db.enums import CustomerStatus, CustomerType
from hes.services import customers
from hes.services.customers import CustomerFilters
from hes.services.meters import Removal

router = APIRouter(prefix="/api/customers", tags=["customers"])


@router.get("", response_model=Page[CustomerOut])
async def list_customers(
    session: SessionDep,
    principal: AnyUser,
    pagination: PaginationDep,
    search: SearchQuery = None,
    sort: SortQuery = None,
    area: AreaQuery = None,
    customer_status: Annotated[CustomerStatus | None, Query(alias="status")] = None,
    customer_type: Annotated[CustomerType | None, Query(alias="type")] = None,
) -> Page[CustomerOut]:
    """Customers, paginated; `search` matches account number, name, phone and e-mail; a customer sees theirs."""
    filters = CustomerFilters(area, customer_status, customer_type)
    listing = await customers.list_customers(session, principal, pagination, filters, search, sort)
    return page_of(listing, CustomerOut.model_validate)


@router.get("/{customer_id}", response_model=CustomerOut)
async def get_customer(customer_id: RecordId, session: SessionDep, principal: AnyUser) -> CustomerOut:
    """One customer."""
    return CustomerOut.model_validate(await customers.get_customer(session, principal, customer_id))


@router.get("/{customer_id}/meters", response_model=Page[MeterOut])
async def list_customer_meters(
    customer_id: RecordId,
    session: SessionDep,
    principal: AnyUser,
    pagination: PaginationDep,
    search: SearchQuery = None,
    sort: SortQuery = None,
) -> Page[MeterOut]:
    """Meters supplying the customer now."""
    listing = await customers.customer_meters(session, principal, customer_id, pagination, search, sort)
    return page_of(listing, MeterOut.model_validate)


@router.get("/{customer_id}/assignments", response_model=Page[AssignmentOut])
async def list_customer_assignments(
    customer_id: RecordId, session: SessionDep, principal: AnyUser, pagination: PaginationDep
) -> Page[AssignmentOut]:
    """Every meter that supplied the customer, and when; newest first."""
    listing = await customers.customer_history(session, principal, customer_id, pagination)
    return page_of(listing, AssignmentOut.model_validate)


@router.post("", response_model=CustomerOut, status_code=status.HTTP_201_CREATED)
async def create_customer(body: CustomerCreate, session: SessionDep, principal: Operator) -> CustomerOut:
    """Add a customer account."""
    return CustomerOut.model_validate(await customers.create_customer(session, principal, body.to_fields()))


@router.put("/{customer_id}", response_model=CustomerOut)
async def update_customer(
    customer_id: RecordId, body: CustomerUpdate, session: SessionDep, principal: Operator
) -> CustomerOut:
    """Change a customer; only the fields sent change."""
    fields, provided = body.to_fields()
    customer = await customers.update_customer(session, principal, customer_id, fields, provided)
    return CustomerOut.model_validate(customer)


@router.delete("/{customer_id}", response_model=RemovalOut)
async def delete_customer(customer_id: RecordId, session: SessionDep, principal: Operator) -> RemovalOut:
    """Delete a customer; one with history is closed instead; refused while meters supply it."""
    removal = await customers.delete_customer(session, principal, customer_id)
    return RemovalOut(outcome="closed" if removal is Removal.CLOSED else "deleted")
