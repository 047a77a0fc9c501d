"""/api/stats: communication statistics of the fleet (read-success rates)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from hes.api.deps import AreaQuery, SessionDep, Staff
from hes.api.schemas.stats import ReadSuccessOut
from hes.services import communication_stats
from hes.services.communication_stats import StatsGrouping

router = APIRouter(prefix="/api/stats", tags=["stats"])


@router.get("/read-success", response_model=ReadSuccessOut)
async def read_success(
    session: SessionDep,
    principal: Staff,
    start: Annotated[
        date | None, Query(alias="from", description="First UTC day, YYYY-MM-DD (default: 6 days before 'to')")
    ] = None,
    end: Annotated[
        date | None, Query(alias="to", description="Last UTC day, YYYY-MM-DD, included (default: today)")
    ] = None,
    group_by: Annotated[StatsGrouping, Query(alias="groupBy", description="day, area or brand")] = StatsGrouping.DAY,
    area: AreaQuery = None,
) -> ReadSuccessOut:
    """Collection attempts, successes and success rate per day, area or brand, for the meters the caller may see."""
    report = await communication_stats.read_success(session, principal, start, end, group_by, area)
    return ReadSuccessOut.of(report)
