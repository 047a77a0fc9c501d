"""Alert rules at work: judge each stored batch (and, periodically, consumption) against the catalogue.

`AlertRules` is an ingest listener. It announces every event of a batch (`event-logged` has this one source),
and for the readings and events that break a rule it raises alerts, in its own transaction; a reading that
opens an alert also logs the event it stands for (e.g. `over_voltage`). An event that ends what an alert was
raised for (a power-up after a power failure) resolves that alert. Batches that break no rule and end no alert
cost no database round trip.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hes.db.enums import EventCategory, ReadingQuality
from hes.db.store import alerts as alert_store
from hes.db.store import events as event_store
from hes.db.store import meters as meter_store
from hes.db.store import obis_codes
from hes.db.store.alerts import AlertEnd, AlertRaise
from hes.db.store.meter_logs import SEVERITY_RANK
from hes.db.tables import utc_now
from hes.ingest import units
from hes.ingest.records import NO_READINGS, IncomingEvent, MeterTouch, StoredBatch, StoredEvent
from hes.obis.codes import ObisCode
from hes.services.alert_catalogue import (
    ACTIVE_ENERGY_IMPORT,
    ALERT_KINDS,
    CATEGORY_RULES,
    EVENT_RULES,
    RESTORING_EVENTS,
    AlertType,
    CategoryRule,
    EventType,
    ReadingRule,
    RuleLimits,
    reading_rules,
)
from hes.services.alerts import AlertView
from hes.services.events import EventDetails, EventView
from hes.services.users import SYSTEM_ACTOR

logger = logging.getLogger(__name__)

ViewT = TypeVar("ViewT", AlertView, EventView)

# A database that stops answering must not hold the ingest path for longer than this.
DEFAULT_TIMEOUT_SECONDS = 10.0


class AlertNotifier(Protocol):
    """Told about each alert opened and each event logged (the Socket.IO fan-out implements it)."""

    async def alert_created(self, alert: AlertView) -> None:
        """An alert was opened (repeats of an open alert are counted on it, not announced)."""

    async def event_logged(self, event: EventView) -> None:
        """An event was written to the log."""


class SilentNotifier:
    """The notifier when real-time is off: tells nobody."""

    async def alert_created(self, alert: AlertView) -> None:
        """Nobody to tell."""

    async def event_logged(self, event: EventView) -> None:
        """Nobody to tell."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One broken rule: the alert it raises, when, why, and the event to log if it opens the alert."""

    meter_id: int
    alert_type: AlertType
    at: datetime
    message: str
    event: IncomingEvent | None = None


@dataclass(frozen=True)
class Recorded:
    """What recording findings wrote that someone should hear about: alerts opened and events logged."""

    alerts: tuple[AlertView, ...] = ()
    events: tuple[EventView, ...] = ()


class RuleBook:
    """The catalogue compiled for lookups: by event type, by event category, by OBIS code."""

    def __init__(self, limits: RuleLimits) -> None:
        self.limits = limits
        self._by_event_type: dict[str, AlertType] = {
            event_type: rule.alert_type for rule in EVENT_RULES for event_type in rule.event_types
        }
        self._by_category: dict[EventCategory, CategoryRule] = {rule.category: rule for rule in CATEGORY_RULES}
        by_code: dict[ObisCode, list[ReadingRule]] = {}
        for reading_rule in reading_rules(limits):
            for code in reading_rule.codes:
                by_code.setdefault(code, []).append(reading_rule)
        self._by_code: dict[ObisCode, tuple[ReadingRule, ...]] = {code: tuple(found) for code, found in by_code.items()}

    def findings(self, batch: StoredBatch) -> list[Finding]:
        """Every rule the batch breaks, in batch order (pure: no I/O)."""
        found = [finding for stored in batch.events if (finding := self._event_finding(stored)) is not None]
        readings = batch.readings
        # The hot path: rules are looked up once per distinct code, and readings of codes without rules cost one
        # list lookup each.
        rules_of = [self._by_code.get(code) for code in readings.codes]
        if not any(rules_of):
            return found
        good = ReadingQuality.GOOD
        columns = (readings.code_index, readings.timestamps, readings.values, readings.units, readings.qualities)
        for meter_id, index, at, stored, unit, quality in zip(readings.meter_ids, *columns, strict=True):
            rules = rules_of[index]
            if rules is None or quality != good:
                continue
            for rule in rules:
                value = _in_unit(stored, unit, rule.unit)
                if value is not None and rule.broken_by(value):
                    found.append(_reading_finding(meter_id, readings.codes[index], at, rule, value))
        return found

    def ends(self, batch: StoredBatch) -> list[AlertEnd]:
        """The alerts the batch's events end (a power failure by the meter's power-up), in batch order."""
        ends: list[AlertEnd] = []
        for stored in batch.events:
            event = stored.event
            alert_type = RESTORING_EVENTS.get(event.event_type)
            if alert_type is not None:
                note = f"Resolved automatically: the meter reported {event.event_type} at {event.timestamp.isoformat()}"
                ends.append(AlertEnd(event.meter_id, alert_type, event.timestamp, note))
        return ends

    def _event_finding(self, stored: StoredEvent) -> Finding | None:
        event = stored.event
        alert_type = self._by_event_type.get(event.event_type)
        if alert_type is None:
            fallback = self._by_category.get(event.category)
            if fallback is None or SEVERITY_RANK[event.severity] < SEVERITY_RANK[fallback.min_severity]:
                return None
            alert_type = fallback.alert_type
        title = ALERT_KINDS[alert_type].title
        code = f", code {event.code}" if event.code is not None else ""
        return Finding(event.meter_id, alert_type, event.timestamp, f"{title} ({event.event_type}{code})")


def _reading_finding(meter_id: int, obis: ObisCode, at: datetime, rule: ReadingRule, value: float) -> Finding:
    kind = ALERT_KINDS[rule.alert_type]
    unit = rule.unit
    message = f"{kind.title}: {value:g} {unit} on {obis} ({rule.bound} limit {rule.limit:g} {unit})"
    details: EventDetails = {"obis": str(obis), "value": value, "unit": unit, "limit": rule.limit}
    event = IncomingEvent(meter_id, rule.event_type, at, rule.category, kind.severity, details=details)
    return Finding(meter_id, rule.alert_type, at, message, event)


def _in_unit(value: float, unit: str | None, wanted: str) -> float | None:
    """`value` in the `wanted` unit ("kV" to "V"); None when `unit` is another quantity altogether."""
    by = units.factor(unit, wanted)
    return None if by is None else value * by


async def record_findings(session: AsyncSession, findings: Sequence[Finding]) -> Recorded:
    """Raise the alerts of `findings` and log the events of those that open one; commits once.

    Findings of one meter and alert type count as that many sightings of one alert. A prosumer's export is not
    reverse flow: such findings of meters allowed to export are dropped.
    """
    findings = await _without_allowed_export(session, findings)
    grouped: dict[tuple[int, AlertType], list[Finding]] = {}
    for finding in findings:
        grouped.setdefault((finding.meter_id, finding.alert_type), []).append(finding)
    raises = [_raise(meter_id, alert_type, group) for (meter_id, alert_type), group in grouped.items()]
    raised = await alert_store.raise_alerts(session, raises)
    opened = [alert for alert in raised if alert.created]
    new_events = [
        event
        for alert in opened
        if (event := _first_event(grouped[(alert.meter_id, AlertType(alert.alert_type))])) is not None
    ]
    event_ids = await event_store.insert_events(session, new_events)
    alert_records = await alert_store.by_ids(session, [alert.id for alert in opened])
    event_records = await event_store.records(session, event_ids)
    await session.commit()
    return Recorded(
        tuple(AlertView.of_record(record) for record in alert_records),
        tuple(EventView.of_record(record) for record in event_records),
    )


async def _without_allowed_export(session: AsyncSession, findings: Sequence[Finding]) -> Sequence[Finding]:
    reverse = {finding.meter_id for finding in findings if finding.alert_type is AlertType.REVERSE_FLOW}
    if not reverse:
        return findings
    exporting = await meter_store.allowed_to_export(session, reverse)
    return [
        finding
        for finding in findings
        if not (finding.alert_type is AlertType.REVERSE_FLOW and finding.meter_id in exporting)
    ]


def _raise(meter_id: int, alert_type: AlertType, group: Sequence[Finding]) -> AlertRaise:
    first = min(group, key=lambda finding: finding.at)
    last = max(group, key=lambda finding: finding.at)
    kind = ALERT_KINDS[alert_type]
    return AlertRaise(meter_id, alert_type, kind.severity, last.message[:500], len(group), first.at, last.at)


def _first_event(group: Sequence[Finding]) -> IncomingEvent | None:
    with_event = [finding for finding in group if finding.event is not None]
    return min(with_event, key=lambda finding: finding.at).event if with_event else None


class AlertRules:
    """The ingest listener that raises alerts from each stored batch and announces its events; never raises."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        notifier: AlertNotifier | None = None,
        limits: RuleLimits | None = None,
        *,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self._sessions = sessions
        self._notifier: AlertNotifier = notifier or SilentNotifier()
        self._book = RuleBook(limits or RuleLimits())
        self._timeout = timeout_seconds

    @property
    def limits(self) -> RuleLimits:
        """The thresholds in force."""
        return self._book.limits

    async def batch_stored(self, batch: StoredBatch) -> None:
        """Announce the batch's events, then raise the alerts its readings and events call for.

        Failures are logged, never raised: the batch is already durable and its sender acknowledged.
        """
        try:
            received_at = utc_now()
            touches = {touch.meter_id: touch for touch in batch.meters}
            await _tell_all(
                self._notifier.event_logged,
                [_view_of_stored(stored, touches, received_at) for stored in batch.events],
            )
            findings, ends = self._book.findings(batch), self._book.ends(batch)
            if not findings and not ends:
                return
            async with asyncio.timeout(self._timeout), self._sessions() as session:
                # Raised first: a failure and the power-up ending it in one batch leave the alert resolved.
                recorded = await record_findings(session, findings) if findings else Recorded()
                if ends:
                    await alert_store.resolve_ended(session, ends, resolved_by=SYSTEM_ACTOR, at=utc_now())
                    await session.commit()
            await _announce(self._notifier, recorded)
        except Exception:
            logger.exception("alert rules failed on a batch of %d readings", len(batch.readings))

    async def events_stored(self, events: Sequence[StoredEvent], meters: Sequence[MeterTouch] = ()) -> None:
        """`batch_stored` for events written outside the ingest path (the status check's `communication_lost`).

        `meters` gives the numbers and area codes the announcements carry; never raises.
        """
        await self.batch_stored(StoredBatch(NO_READINGS, tuple(events), tuple(meters)))

    async def check_zero_consumption(self, *, now: datetime | None = None) -> int:
        """`check_zero_consumption` with this listener's sessions, notifier and window; for the scheduler."""
        async with self._sessions() as session:
            return await check_zero_consumption(session, self._notifier, self.limits, now=now)


async def check_zero_consumption(
    session: AsyncSession, notifier: AlertNotifier, limits: RuleLimits | None = None, *, now: datetime | None = None
) -> int:
    """Raise `zero_consumption` for each in-service meter whose energy register has not moved in the window.

    The window is `limits.zero_consumption_hours` back from `now`. Each run counts one more sighting on an
    open alert; a newly opened alert also logs a `zero_consumption` event. Commits; returns the meters found.
    """
    limits = limits or RuleLimits()
    now = now or utc_now()
    hours = limits.zero_consumption_hours
    obis_id = (await obis_codes.ids_of(session, [ACTIVE_ENERGY_IMPORT])).get(ACTIVE_ENERGY_IMPORT)
    if obis_id is None:
        return 0
    flat = await alert_store.flat_registers(session, obis_id, now - timedelta(hours=hours))
    if not flat:
        await session.commit()
        return 0
    title = ALERT_KINDS[AlertType.ZERO_CONSUMPTION].title
    severity = ALERT_KINDS[AlertType.ZERO_CONSUMPTION].severity
    findings = [
        Finding(
            register.meter_id,
            AlertType.ZERO_CONSUMPTION,
            now,
            f"{title} for {hours} h: {ACTIVE_ENERGY_IMPORT} stayed at {register.value}",
            IncomingEvent(
                register.meter_id,
                EventType.ZERO_CONSUMPTION,
                now,
                EventCategory.TECHNICAL,
                severity,
                details={"obis": str(ACTIVE_ENERGY_IMPORT), "value": register.value, "hours": hours},
            ),
        )
        for register in flat
    ]
    recorded = await record_findings(session, findings)
    await _announce(notifier, recorded)
    logger.info("zero consumption for %d h on %d meters", hours, len(flat))
    return len(flat)


def _view_of_stored(stored: StoredEvent, touches: Mapping[int, MeterTouch], received_at: datetime) -> EventView:
    return EventView.of_incoming(stored.id, stored.event, touches.get(stored.event.meter_id), received_at)


async def _announce(notifier: AlertNotifier, recorded: Recorded) -> None:
    await _tell_all(notifier.event_logged, recorded.events)
    await _tell_all(notifier.alert_created, recorded.alerts)


async def _tell_all(tell: Callable[[ViewT], Awaitable[None]], views: Iterable[ViewT]) -> None:
    """Hand each view to the notifier; one failing call is logged and does not stop the others."""
    for view in views:
        try:
            await tell(view)
        except Exception:
            logger.exception("notifier failed on %s %d", type(view).__name__, view.id)
