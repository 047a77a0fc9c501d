"""Wire schemas of the dashboard."""

from __future__ import annotations

from datetime import date, datetime

from hes.api.schemas.common import CamelModel
from hes.services.dashboard import AlertFigures, DashboardStats, HourFigures, MeterFigures, ReadSuccessFigures

# Rates are given to four decimals (a hundredth of a per cent).
_RATE_DIGITS = 4


class MeterFiguresOut(CamelModel):
    """Meters: all, online, offline, and per status (every status listed)."""

    total: int
    online: int
    offline: int
    by_status: dict[str, int]

    @classmethod
    def of(cls, figures: MeterFigures) -> MeterFiguresOut:
        """The wire form."""
        by_status = {status.value: count for status, count in figures.by_status.items()}
        return cls(total=figures.total, online=figures.online, offline=figures.offline, by_status=by_status)


class AlertFiguresOut(CamelModel):
    """Open and acknowledged alerts: in total and per severity (every severity listed)."""

    total: int
    by_severity: dict[str, int]

    @classmethod
    def of(cls, figures: AlertFigures) -> AlertFiguresOut:
        """The wire form."""
        return cls(total=figures.total, by_severity={key.value: count for key, count in figures.by_severity.items()})


class LastHourOut(CamelModel):
    """kWh of the last full UTC hour (null: no meter reported), its completeness, and meters that reported."""

    start: datetime
    import_kwh: float | None
    export_kwh: float | None
    complete: bool
    meters_reporting: int

    @classmethod
    def of(cls, figures: HourFigures) -> LastHourOut:
        """The wire form."""
        return cls(
            start=figures.start,
            import_kwh=figures.import_kwh,
            export_kwh=figures.export_kwh,
            complete=figures.complete,
            meters_reporting=figures.meters_reporting,
        )


class ReadSuccessTodayOut(CamelModel):
    """Today's (UTC) collection attempts, successes and success rate (0 to 1; null without attempts)."""

    day: date
    attempts: int
    successes: int
    success_rate: float | None

    @classmethod
    def of(cls, figures: ReadSuccessFigures) -> ReadSuccessTodayOut:
        """The wire form."""
        rate = figures.success_rate
        return cls(
            day=figures.day,
            attempts=figures.attempts,
            successes=figures.successes,
            success_rate=None if rate is None else round(rate, _RATE_DIGITS),
        )


class DashboardStatsOut(CamelModel):
    """The dashboard's figures for the meters the caller may see."""

    generated_at: datetime
    meters: MeterFiguresOut
    alerts: AlertFiguresOut
    last_hour: LastHourOut
    read_success: ReadSuccessTodayOut

    @classmethod
    def of(cls, stats: DashboardStats) -> DashboardStatsOut:
        """The wire form."""
        return cls(
            generated_at=stats.generated_at,
            meters=MeterFiguresOut.of(stats.meters),
            alerts=AlertFiguresOut.of(stats.alerts),
            last_hour=LastHourOut.of(stats.last_hour),
            read_success=ReadSuccessTodayOut.of(stats.read_success),
        )
