"""What the dispatcher reports: each session with a meter (a visit), and its own counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hes.connectivity.errors import ChannelError
from hes.connectivity.meter_links import MeterTarget

__all__ = ["DispatcherStats", "VisitReport"]


@dataclass(frozen=True, slots=True)
class VisitReport:
    """One session with a meter, as statistics and events need it."""

    target: MeterTarget
    at: datetime
    jobs: tuple[str, ...]  # kinds of the jobs it ran or tried
    error: Exception | None = None  # what ended it early (DlmsError, ChannelError, ValueError); None: fine
    attempt: int = 1
    round_trip_ms: int | None = None

    @property
    def ok(self) -> bool:
        """Whether the session ran to its end."""
        return self.error is None

    @property
    def reached(self) -> bool:
        """Whether a connection was attempted (a meter without a channel or settings was not tried)."""
        return not isinstance(self.error, ChannelError | ValueError)


@dataclass(frozen=True, slots=True)
class DispatcherStats:
    """What the dispatcher did so far, and what it holds now."""

    sessions: int
    peak_sessions: int
    connections: int
    visits: int
    failed_visits: int
    jobs_done: int
    jobs_failed: int
    retries: int
    queued_jobs: int
