"""Wire schemas of consumption series."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from hes.api.schemas.common import CamelModel
from hes.services.consumption import ConsumptionPoint, ConsumptionSeries, Interval


class ConsumptionPointOut(CamelModel):
    """One bucket: kWh imported and exported (null: no data at all), whether it is complete, register events.

    `complete` is false when an hour of the bucket has no data, follows a gap, or holds a register reset
    (a replaced meter); `resets` and `rollovers` count those events in the bucket.
    """

    start: datetime
    import_kwh: float | None
    export_kwh: float | None
    complete: bool
    resets: int
    rollovers: int

    @classmethod
    def of(cls, point: ConsumptionPoint) -> ConsumptionPointOut:
        """The wire form of a service's point."""
        return cls(
            start=point.start,
            import_kwh=point.import_kwh,
            export_kwh=point.export_kwh,
            complete=point.complete,
            resets=point.resets,
            rollovers=point.rollovers,
        )


class ConsumptionOut(CamelModel):
    """A consumption series of one meter, or of one area with its sub-areas, from `from` to `to` (excluded)."""

    meter_id: int | None
    meter_number: str | None
    area: str | None
    interval: Interval
    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")
    unit: Literal["kWh"] = "kWh"
    points: list[ConsumptionPointOut]

    @classmethod
    def of(cls, series: ConsumptionSeries) -> ConsumptionOut:
        """The wire form of a service's series."""
        return cls(
            meter_id=series.meter_id,
            meter_number=series.meter_number,
            area=series.area_code,
            interval=series.interval,
            start=series.start,
            end=series.end,
            points=[ConsumptionPointOut.of(point) for point in series.points],
        )
