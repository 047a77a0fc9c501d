"""Mounts every router and hot route; the one list of what the HTTP API offers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from starlette.routing import BaseRoute

from hes.api.deps import refuse_nul_in_query
from hes.api.routes import (
    alerts,
    areas,
    audit,
    auth,
    consumption,
    customers,
    dashboard,
    events,
    health,
    imports,
    ingestion,
    meter_reads,
    meters,
    obis,
    readings,
    reports,
    sims,
    stats,
    users,
)

api_router = APIRouter(dependencies=[Depends(refuse_nul_in_query)])
# The order is the OpenAPI document's order: platform, records, meter data, then monitoring and reports.
_ROUTERS = (
    *(health, auth, areas, users, audit, imports, meters, customers, sims),
    *(readings, ingestion, meter_reads, obis, stats, events, alerts, consumption, dashboard, reports),
)
for module in _ROUTERS:
    api_router.include_router(module.router)

# Hot paths: plain Starlette routes matched before the API router (see hes.api.routes.ingestion), with their
# OpenAPI path items and security schemes, added to the generated document by hand.
hot_routes: list[BaseRoute] = [ingestion.ingestion_route]
hot_route_docs: dict[str, Any] = ingestion.openapi_paths()
hot_route_security: dict[str, Any] = {"DeviceToken": ingestion.SECURITY_SCHEME}
