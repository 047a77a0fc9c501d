"""Mounts every router; the one list of what the HTTP API offers."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from hes.api.deps import refuse_nul_in_query
from hes.api.routes import areas, audit, auth, customers, health, imports, meters, readings, sims, users

api_router = APIRouter(dependencies=[Depends(refuse_nul_in_query)])
for module in (health, auth, areas, users, audit, imports, meters, customers, sims, readings):
    api_router.include_router(module.router)
