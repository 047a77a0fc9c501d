"""Online/offline: each meter's last contact against its expected interval, flips with communication-lost events.

A meter is online while its last contact is within `missed_intervals` expected intervals plus a grace period, and
offline after. Nothing is assumed at start-up: the first check recomputes every status from `last_seen_at`.
Each check also resolves the communication-loss alerts of meters online again, so the open alerts an operator
sees are meters still silent.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hes.db.enums import ConnectionMode, EventCategory, MeterStatus, Severity
from hes.db.store import alerts, events
from hes.db.store import meter_status as store
from hes.db.store.meter_status import Deadline, FlippedMeter
from hes.db.tables import utc_now
from hes.ingest.records import IncomingEvent, StoredEvent
from hes.services.alert_catalogue import AlertType
from hes.services.users import SYSTEM_ACTOR

logger = logging.getLogger(__name__)

COMMUNICATION_LOST = "communication_lost"
# A 15-minute load profile is the usual collection cycle (IDIS profile 1 capture period 900 s).
DEFAULT_EXPECTED_INTERVAL_S = 900
RESTORED_NOTE = "Resolved automatically: the meter communicates again."
# The statuses the check manages; warehouse, faulty and decommissioned meters are left alone.
WATCHED = (MeterStatus.INSTALLED, MeterStatus.ONLINE, MeterStatus.OFFLINE)


def _every_mode(seconds: int) -> dict[ConnectionMode, int]:
    return dict.fromkeys(ConnectionMode, seconds)


@dataclass(frozen=True)
class StatusDefaults:
    """Expected contact interval per connection mode (for meters without their own), misses allowed, grace."""

    intervals_s: Mapping[ConnectionMode, int] = field(default_factory=lambda: _every_mode(DEFAULT_EXPECTED_INTERVAL_S))
    missed_intervals: int = 2
    grace_s: int = 120

    def __post_init__(self) -> None:
        if self.missed_intervals < 1 or self.grace_s < 0 or any(value < 1 for value in self.intervals_s.values()):
            raise ValueError("intervals and missed_intervals must be positive, grace_s not negative")

    def allowed_silence(self, interval_s: int) -> timedelta:
        """How long a meter with this expected interval may stay silent and still count as online."""
        return timedelta(seconds=self.missed_intervals * interval_s + self.grace_s)

    def interval_of(self, meter: FlippedMeter) -> int:
        """The meter's expected interval: its own, else its connection mode's default."""
        return meter.expected_interval_s or self.intervals_s.get(meter.connection_mode, DEFAULT_EXPECTED_INTERVAL_S)


@dataclass(frozen=True, slots=True)
class StatusChange:
    """One meter's transition, as the check made it."""

    meter_id: int
    meter_number: str
    area_code: str | None
    previous_status: MeterStatus
    status: MeterStatus
    last_seen_at: datetime | None
    changed_at: datetime
    lost_event: StoredEvent | None = None  # the communication_lost event an online -> offline transition wrote


# (from, to, overdue, never_seen): the four transitions the check makes, in the order it makes them.
_TRANSITIONS = (
    # An online meter never heard from (a status carried over a restart, not earned) is offline too.
    (MeterStatus.ONLINE, MeterStatus.OFFLINE, True, True),
    (MeterStatus.INSTALLED, MeterStatus.OFFLINE, True, False),
    (MeterStatus.OFFLINE, MeterStatus.ONLINE, False, False),
    (MeterStatus.INSTALLED, MeterStatus.ONLINE, False, False),
)


async def check_meter_status(session: AsyncSession, now: datetime, defaults: StatusDefaults) -> list[StatusChange]:
    """Flip installed/online/offline meters by their last contact at `now`; commit; return the transitions.

    Each online -> offline transition writes a `communication_lost` event (communication, warning). A meter never
    heard from stays installed (or offline). Open communication-loss alerts of online meters are resolved.
    """
    deadlines = [
        Deadline(now - defaults.allowed_silence(seconds), mode=mode) for mode, seconds in defaults.intervals_s.items()
    ]
    deadlines += [
        Deadline(now - defaults.allowed_silence(seconds), interval_s=seconds)
        for seconds in await store.explicit_intervals(session, WATCHED)
    ]
    flipped: list[tuple[MeterStatus, MeterStatus, FlippedMeter]] = []
    for previous, status, overdue, never_seen in _TRANSITIONS:
        meters = await store.flip(
            session, from_status=previous, to_status=status, deadlines=deadlines, overdue=overdue, never_seen=never_seen
        )
        flipped += [(previous, status, meter) for meter in meters]
    codes = await store.area_codes(session, {meter.area_id for _, _, meter in flipped if meter.area_id is not None})
    lost = {
        meter.meter_id: _communication_lost(meter, now, defaults)
        for previous, _, meter in flipped
        if previous is MeterStatus.ONLINE
    }
    lost_ids = await events.insert_events(session, list(lost.values()))
    stored = {meter_id: StoredEvent(id, event) for (meter_id, event), id in zip(lost.items(), lost_ids, strict=True)}
    # Swept every check rather than at the moment a meter returns: a loss alert raised just after its meter came
    # back is resolved too.
    restored = await alerts.resolve_for_online_meters(
        session, AlertType.COMMUNICATION_LOSS, resolved_by=SYSTEM_ACTOR, note=RESTORED_NOTE, at=now
    )
    await session.commit()
    if flipped or restored:
        logger.info("meter status check: %d transitions, %d communication-loss alerts resolved", len(flipped), restored)
    return [
        StatusChange(
            meter.meter_id,
            meter.meter_number,
            codes.get(meter.area_id) if meter.area_id is not None else None,
            previous,
            status,
            meter.last_seen_at,
            now,
            stored.get(meter.meter_id) if previous is MeterStatus.ONLINE else None,
        )
        for previous, status, meter in flipped
    ]


def _communication_lost(meter: FlippedMeter, now: datetime, defaults: StatusDefaults) -> IncomingEvent:
    interval = defaults.interval_of(meter)
    return IncomingEvent(
        meter_id=meter.meter_id,
        event_type=COMMUNICATION_LOST,
        timestamp=now,
        category=EventCategory.COMMUNICATION,
        severity=Severity.WARNING,
        details={
            "lastSeenAt": meter.last_seen_at.isoformat() if meter.last_seen_at is not None else None,
            "expectedIntervalS": interval,
            "allowedSilenceS": int(defaults.allowed_silence(interval).total_seconds()),
        },
    )


StatusListener = Callable[[Sequence[StatusChange]], Awaitable[None]]


class MeterStatusMonitor:
    """The status check as the scheduler runs it: with its clock and defaults, handing transitions to `on_changes`."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        defaults: StatusDefaults,
        *,
        on_changes: StatusListener | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._sessions = sessions
        self._defaults = defaults
        self._on_changes = on_changes
        self._clock = clock

    async def run_once(self) -> list[StatusChange]:
        """One check, with its transitions handed on."""
        async with self._sessions() as session:
            changes = await check_meter_status(session, self._clock(), self._defaults)
        if changes and self._on_changes is not None:
            await self._on_changes(changes)
        return changes
