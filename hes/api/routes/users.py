"""/api/users: user accounts, administrators only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, status

from hes.api.deps import Admin, AreaQuery, PaginationDep, SearchQuery, SessionDep, SortQuery
from hes.api.schemas.common import Page, page_of
from hes.api.schemas.fields import RecordId
from hes.api.schemas.users import PasswordSet, UserCreate, UserOut, UserUpdate, UserWithPassword
from hes.db.enums import Role
from hes.services import users
from hes.services.users import AccountRequest, UserChanges

router = APIRouter(prefix="/api/users", tags=["users"])


@router.get("", response_model=Page[UserOut])
async def list_users(
    session: SessionDep,
    principal: Admin,
    pagination: PaginationDep,
    search: SearchQuery = None,
    sort: SortQuery = None,
    area: AreaQuery = None,
    role: Role | None = None,
    is_active: Annotated[bool | None, Query(alias="isActive")] = None,
) -> Page[UserOut]:
    """Accounts, paginated; `search` matches username, full name and e-mail; `area` keeps those limited to it."""
    listing = await users.list_users(
        session, principal, pagination, role=role, search=search, is_active=is_active, sort=sort, area=area
    )
    return page_of(listing, UserOut.of)


@router.get("/{user_id}", response_model=UserOut)
async def get_user(user_id: RecordId, session: SessionDep, _principal: Admin) -> UserOut:
    """One account."""
    return UserOut.of(await users.get_user(session, user_id))


@router.post("", response_model=UserWithPassword, status_code=status.HTTP_201_CREATED)
async def create_user(body: UserCreate, session: SessionDep, principal: Admin) -> UserWithPassword:
    """Add an account; without a password one is generated and shown in this answer only."""
    fields = body.model_dump()
    request = AccountRequest(**{**fields, "area_ids": frozenset(fields["area_ids"])})
    return UserWithPassword.of_outcome(await users.create_account(session, principal, request))


@router.put("/{user_id}", response_model=UserOut)
async def update_user(user_id: RecordId, body: UserUpdate, session: SessionDep, principal: Admin) -> UserOut:
    """Change an account; only the fields sent are changed. A role change or deactivation signs the user out."""
    fields = body.model_dump()
    area_ids = fields.pop("area_ids")
    changes = UserChanges(**fields, area_ids=None if area_ids is None else frozenset(area_ids))
    details = await users.update_user(session, principal, user_id, changes, frozenset(body.model_fields_set))
    return UserOut.of(details)


@router.post("/{user_id}/password", response_model=UserWithPassword)
async def set_password(
    user_id: RecordId, session: SessionDep, principal: Admin, body: Annotated[PasswordSet | None, Body()] = None
) -> UserWithPassword:
    """Give an account a new password (generated and shown once when omitted); the user is signed out."""
    password = body.password if body is not None else None
    return UserWithPassword.of_outcome(await users.set_password(session, principal, user_id, password))


@router.delete("/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def deactivate_user(user_id: RecordId, session: SessionDep, principal: Admin) -> None:
    """Deactivate an account (it is kept so the audit trail keeps its name); the user is signed out."""
    await users.deactivate_user(session, principal, user_id)
