"""/api/dashboard: the console's overview figures."""

from __future__ import annotations

from fastapi import APIRouter

from hes.api.deps import SessionDep, Staff
from hes.api.schemas.dashboard import DashboardStatsOut
from hes.services import dashboard

router = APIRouter(prefix="/api/dashboard", tags=["dashboard"])


@router.get("/stats", response_model=DashboardStatsOut)
async def dashboard_stats(session: SessionDep, principal: Staff) -> DashboardStatsOut:
    """Meters by status, active alerts by severity, last full hour's energy and today's read success.

    Within the caller's areas; a few aggregate queries over meters, alerts, the rollups and read attempts.
    """
    return DashboardStatsOut.of(await dashboard.stats(session, principal))
