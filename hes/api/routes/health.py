"""/health and /metrics: liveness with a database check, and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from hes.api.deps import PUBLIC, RuntimeDep
from hes.services import health

router = APIRouter(tags=["health"])


@router.get("/health", dependencies=[PUBLIC])
async def get_health(runtime: RuntimeDep) -> JSONResponse:
    """200 when the database answers, 503 when it does not."""
    report = await health.check(runtime.engine)
    return JSONResponse(
        {
            "status": "ok" if report.healthy else "unavailable",
            "database": report.database,
            "version": report.version,
        },
        status_code=200 if report.healthy else 503,
    )


@router.get("/metrics", dependencies=[PUBLIC], include_in_schema=False)
async def get_metrics() -> Response:
    """Prometheus exposition of the process's metrics (no personal or meter data)."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
