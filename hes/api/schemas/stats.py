"""Wire schemas of communication statistics."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from hes.api.schemas.common import CamelModel
from hes.services.communication_stats import ReadSuccessReport, StatsGrouping, SuccessFigures, SuccessGroup


class SuccessFiguresOut(CamelModel):
    """Collection attempts, successes, and successes per attempt (0 to 1; null without attempts)."""

    attempts: int
    successes: int
    success_rate: float | None

    @classmethod
    def of(cls, figures: SuccessFigures) -> SuccessFiguresOut:
        """The wire form of a service's figures."""
        rate = None if figures.success_rate is None else round(figures.success_rate, 4)
        return cls(attempts=figures.attempts, successes=figures.successes, success_rate=rate)


class SuccessGroupOut(SuccessFiguresOut):
    """One day (`YYYY-MM-DD`), area (code; label its name) or brand; key null: meters without area or brand."""

    key: str | None
    label: str | None

    @classmethod
    def of_group(cls, group: SuccessGroup) -> SuccessGroupOut:
        """The wire form of a service's group."""
        figures = SuccessFiguresOut.of(group.figures)
        return cls(key=group.key, label=group.label, **figures.model_dump())


class ReadSuccessOut(CamelModel):
    """Read success from `from` to `to` (UTC days, both included), in total and per group."""

    start: date = Field(alias="from")
    end: date = Field(alias="to")
    group_by: StatsGrouping
    area: str | None
    total: SuccessFiguresOut
    groups: list[SuccessGroupOut]

    @classmethod
    def of(cls, report: ReadSuccessReport) -> ReadSuccessOut:
        """The wire form of a read-success report."""
        return cls(
            start=report.start,
            end=report.end,
            group_by=report.grouping,
            area=report.area,
            total=SuccessFiguresOut.of(report.total),
            groups=[SuccessGroupOut.of_group(group) for group in report.groups],
        )
