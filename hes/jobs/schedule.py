"""What a periodic job is and when it is due: named, with an interval, optionally aligned to a time of day.

Due times are slots counted from a fixed anchor (1970-01-01, plus the job's time of day), never from when a
process started: every HES instance computes the same slots, which is what lets them agree on who runs one.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hes.config import Settings
from hes.db.store import advisory

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,59}")
# Longest a slot may start after its due time (see Scheduler): a quarter of the interval, at most five minutes.
_MAX_START_WINDOW = timedelta(minutes=5)


@dataclass(frozen=True)
class JobContext:
    """What one run of a job receives: the session factory, the settings, and the slot it runs for."""

    sessions: async_sessionmaker[AsyncSession]
    settings: Settings
    slot: datetime


JobFunction = Callable[[JobContext], Awaitable[None]]


@dataclass(frozen=True)
class Job:
    """A named periodic job: `run` is due every `interval`, on slots aligned to `daily_at` (UTC) when given.

    Raises:
        ValueError: a name that is not lower-case `a-z0-9_.-` (at most 60), a non-positive interval,
            or a `daily_at` with a time zone other than UTC.
    """

    name: str
    run: JobFunction = field(compare=False)
    interval: timedelta = timedelta(days=1)
    daily_at: time | None = None

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"job name {self.name!r}: lower-case letters, digits, '_', '.', '-'; at most 60")
        if self.interval <= timedelta(0):
            raise ValueError(f"job {self.name}: the interval must be positive")
        if self.daily_at is not None and self.daily_at.utcoffset() not in (None, timedelta(0)):
            raise ValueError(f"job {self.name}: daily_at is a UTC time of day")

    @property
    def lock_key(self) -> int:
        """A stable signed 64-bit key for this job's PostgreSQL advisory lock (the same in every process)."""
        return advisory.lock_key(f"hes.jobs:{self.name}")

    @property
    def start_window(self) -> timedelta:
        """How late after its due time a run may still start; later, that slot is left to the next one."""
        return min(self.interval / 4, _MAX_START_WINDOW)

    def slot_at_or_before(self, moment: datetime) -> datetime:
        """The latest due time not after `moment` (timezone-aware)."""
        anchor = self._anchor()
        return anchor + self.interval * ((_aware(moment) - anchor) // self.interval)

    def next_slot_after(self, moment: datetime) -> datetime:
        """The first due time strictly after `moment` (timezone-aware)."""
        return self.slot_at_or_before(moment) + self.interval

    def _anchor(self) -> datetime:
        if self.daily_at is None:
            return _EPOCH
        at = self.daily_at
        return _EPOCH + timedelta(hours=at.hour, minutes=at.minute, seconds=at.second, microseconds=at.microsecond)


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime refused: job slots are UTC")
    return moment
