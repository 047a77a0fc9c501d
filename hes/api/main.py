"""Mounts every router; the one list of what the HTTP API offers."""

from __future__ import annotations

from fastapi import APIRouter

from hes.api.routes import areas, auth, health

api_router = APIRouter()
for module in (health, auth, areas):
    api_router.include_router(module.router)
