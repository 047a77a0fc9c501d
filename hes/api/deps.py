"""Injectable pieces shared by every router: runtime, session, caller and role checks, pagination, log filters."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from hes.api.schemas.fields import MAX_RECORD_ID
from hes.api.schemas.readings import QueryTime
from hes.db.enums import Role, Severity
from hes.errors import AuthenticationFailed, InvalidInput, PermissionDenied, Problem
from hes.runtime import Runtime
from hes.services import auth
from hes.services.listing import Pagination
from hes.services.meter_logs import LogFilters
from hes.services.principal import Principal

# Marker read by the authorization-matrix test: every route carries one access rule.
ACCESS_RULE_ATTRIBUTE = "hes_access_rule"


async def get_runtime(request: Request) -> Runtime:
    """The process's Runtime, created in the app lifespan (async: a sync dependency costs a thread hop)."""
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    """A database session for one request; services commit, anything uncommitted is rolled back."""
    async with runtime.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]

_bearer = HTTPBearer(auto_error=False, description="Access token from POST /api/auth/login")


async def current_principal(
    session: SessionDep,
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The signed-in caller.

    Raises:
        AuthenticationFailed: no bearer token, or an invalid, expired or revoked one.
    """
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationFailed("missing bearer token")
    return await auth.principal_for(session, runtime.settings, credentials.credentials)


def _roles(*allowed: Role) -> Callable[[Principal], Awaitable[Principal]]:
    allowed_set = frozenset(allowed)

    async def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.role not in allowed_set:
            raise PermissionDenied(f"role {principal.role} may not do this")
        return principal

    setattr(check, ACCESS_RULE_ATTRIBUTE, allowed_set)
    return check


async def _anyone() -> None:
    """Explicitly public: health, metrics scrape, login, refresh, templates of nothing secret."""


setattr(_anyone, ACCESS_RULE_ATTRIBUTE, "public")

AnyUser = Annotated[Principal, Depends(_roles(Role.ADMIN, Role.OPERATOR, Role.VIEWER, Role.CUSTOMER))]
Staff = Annotated[Principal, Depends(_roles(Role.ADMIN, Role.OPERATOR, Role.VIEWER))]
Operator = Annotated[Principal, Depends(_roles(Role.ADMIN, Role.OPERATOR))]
Admin = Annotated[Principal, Depends(_roles(Role.ADMIN))]
PUBLIC = Depends(_anyone)


async def refuse_nul_in_query(request: Request) -> None:
    """Refuse NUL characters in query parameters, for every route at once: PostgreSQL text cannot hold them.

    Raises:
        InvalidInput: one problem per offending parameter.
    """
    problems = [
        Problem("must not contain NUL characters", field=f"query.{name}")
        for name, value in request.query_params.multi_items()
        if "\x00" in value or "\x00" in name
    ]
    if problems:
        raise InvalidInput("NUL characters in the query", problems)


def pagination(
    page: Annotated[int, Query(ge=1, le=1_000_000, description="Page number, from 1")] = 1,
    limit: Annotated[int, Query(ge=1, le=500, description="Records per page")] = 50,
) -> Pagination:
    """The `page` and `limit` query parameters."""
    return Pagination(page=page, limit=limit)


PaginationDep = Annotated[Pagination, Depends(pagination)]
SortQuery = Annotated[
    str | None, Query(max_length=200, description="Comma-separated fields; '-' prefix sorts descending")
]
SearchQuery = Annotated[str | None, Query(max_length=100, description="Free text on numbers and names")]
AreaQuery = Annotated[str | None, Query(max_length=120, description="Area code or name")]
MeterIdQuery = Annotated[int | None, Query(alias="meterId", ge=1, le=MAX_RECORD_ID, description="Meter id")]
MeterNumberQuery = Annotated[str | None, Query(alias="meterNumber", max_length=32, description="Meter number")]
SeverityQuery = Annotated[list[Severity] | None, Query(description="One or more severities (repeat the parameter)")]
FromQuery = Annotated[
    QueryTime | None, Query(alias="from", description="Earliest time, included; ISO 8601 with offset")
]
ToQuery = Annotated[QueryTime | None, Query(alias="to", description="Latest time, included; ISO 8601 with offset")]


def log_filters(
    meter_id: MeterIdQuery = None,
    meter_number: MeterNumberQuery = None,
    area: AreaQuery = None,
    severity: SeverityQuery = None,
    start: FromQuery = None,
    end: ToQuery = None,
) -> LogFilters:
    """The query parameters every meter log (events, alerts) is filtered by, for its list and its download."""
    return LogFilters(meter_id, meter_number, area, frozenset(severity or ()), start, end)


LogFiltersDep = Annotated[LogFilters, Depends(log_filters)]
