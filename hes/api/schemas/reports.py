"""CSV forms of the reports: the online-rate report per area and consumption series (the events CSV writer)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import TypeVar

from hes.services.consumption import ConsumptionPoint, ConsumptionSeries
from hes.services.reports import OnlineRateRow

RowT = TypeVar("RowT")
# Rates to four decimals (a hundredth of a per cent).
_RATE_DIGITS = 4

ONLINE_RATE_CSV_HEADER = (
    "areaCode",
    "areaName",
    "parentAreaCode",
    "metersInService",
    "neverOnline",
    "onlineNow",
    "offline",
    "onlineRate",
)
CONSUMPTION_CSV_HEADER = (
    "meterNumber",
    "area",
    "interval",
    "start",
    "importKwh",
    "exportKwh",
    "complete",
    "resets",
    "rollovers",
)


def online_rate_csv_row(row: OnlineRateRow) -> tuple[object, ...]:
    """One area of the online-rate report, in `ONLINE_RATE_CSV_HEADER` order."""
    rate = row.online_rate
    return (
        row.area_code,
        row.area_name,
        row.parent_code,
        row.total,
        row.never_online,
        row.online,
        row.offline,
        None if rate is None else round(rate, _RATE_DIGITS),
    )


def consumption_csv_rows(series: ConsumptionSeries) -> list[tuple[object, ...]]:
    """Each bucket of a series as a row, in `CONSUMPTION_CSV_HEADER` order."""
    return [_consumption_row(series, point) for point in series.points]


def _consumption_row(series: ConsumptionSeries, point: ConsumptionPoint) -> tuple[object, ...]:
    return (
        series.meter_number,
        series.area_code,
        series.interval,
        point.start,
        point.import_kwh,
        point.export_kwh,
        "true" if point.complete else "false",
        point.resets,
        point.rollovers,
    )


async def rows_of(items: Iterable[RowT]) -> AsyncIterator[RowT]:
    """Items already in memory as the async rows the CSV writer streams."""
    for item in items:
        yield item
