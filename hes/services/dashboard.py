"""The console's dashboard figures: fleet status, active alerts, last hour's energy, today's read success."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from hes.db.enums import MeterStatus, Severity
from hes.db.store import dashboard as store
from hes.db.store import read_attempts
from hes.db.store.consumption import MeterScope
from hes.db.store.read_attempts import StatsGrouping
from hes.services import consumption
from hes.services.principal import Principal


@dataclass(frozen=True)
class MeterFigures:
    """Meters the caller may see: all of them, online, offline, and per status."""

    total: int
    online: int
    offline: int
    by_status: dict[MeterStatus, int]


@dataclass(frozen=True)
class AlertFigures:
    """Active (open or acknowledged) alerts, in total and per severity (every severity listed)."""

    total: int
    by_severity: dict[Severity, int]


@dataclass(frozen=True)
class HourFigures:
    """Energy of the last full UTC hour, from the rollups (kWh; None: no meter reported)."""

    start: datetime
    import_kwh: float | None
    export_kwh: float | None
    complete: bool
    meters_reporting: int


@dataclass(frozen=True)
class ReadSuccessFigures:
    """Today's (UTC) collection attempts and successes."""

    day: date
    attempts: int
    successes: int

    @property
    def success_rate(self) -> float | None:
        """Successes per attempt, 0 to 1; None without attempts."""
        return self.successes / self.attempts if self.attempts else None


@dataclass(frozen=True)
class DashboardStats:
    """Everything the dashboard shows, for the meters the caller may see."""

    generated_at: datetime
    meters: MeterFigures
    alerts: AlertFigures
    last_hour: HourFigures
    read_success: ReadSuccessFigures


async def stats(session: AsyncSession, principal: Principal, now: datetime | None = None) -> DashboardStats:
    """Dashboard figures within the caller's areas (all areas for a caller without limits)."""
    now = now or datetime.now(UTC)
    area_ids = principal.area_ids or None
    statuses = await store.meters_by_status(session, area_ids)
    by_status = {status: statuses.get(status, 0) for status in MeterStatus}
    meters = MeterFigures(
        sum(by_status.values()), by_status[MeterStatus.ONLINE], by_status[MeterStatus.OFFLINE], by_status
    )
    severities = await store.active_alerts_by_severity(session, area_ids)
    by_severity = {severity: severities.get(severity, 0) for severity in Severity}
    alerts = AlertFigures(sum(by_severity.values()), by_severity)
    hour = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    point, reporting = await consumption.hour_summary(session, MeterScope(area_ids=area_ids), hour)
    last_hour = HourFigures(hour, point.import_kwh, point.export_kwh, point.complete, reporting)
    today = now.astimezone(UTC).date()
    totals = await read_attempts.totals(session, today, today, StatsGrouping.DAY, area_ids)
    attempts = ReadSuccessFigures(today, sum(row.attempts for row in totals), sum(row.successes for row in totals))
    return DashboardStats(now, meters, alerts, last_hour, attempts)
