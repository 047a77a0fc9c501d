"""Refused MQTT input, accounted for: a metric per reason, a bounded log, and communication events per meter.

A meter sending garbage must be visible to operators (an `mqtt_payload_rejected` event on the meter) without
flooding the event log or the application log: at most one event per meter per `note_interval_s`, and one
summary log line per `log_interval_s` however many items were refused.
"""

from __future__ import annotations

import logging
import time
from collections import Counter as Tally
from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client import Counter

from hes.connectivity.mqtt.sink import CommunicationNote

logger = logging.getLogger(__name__)

REJECTED = Counter("hes_mqtt_rejected_total", "MQTT items refused, by message kind and reason", ["kind", "reason"])
# Meters remembered for the per-meter event interval; past this the memory is simply forgotten.
_MAX_REMEMBERED = 100_000


@dataclass(frozen=True, slots=True)
class Refusal:
    """One refused item: the meter named by its topic, the kind of message, the field at fault and why."""

    meter_number: str
    kind: str
    field: str
    reason: str


class RejectLedger:
    """Counts refusals, logs a summary now and then, and decides which meters get a communication event."""

    def __init__(self, *, note_interval_s: float = 60.0, log_interval_s: float = 10.0) -> None:
        self._note_interval_s = note_interval_s
        self._log_interval_s = log_interval_s
        self._noted_at: dict[str, float] = {}
        self._unlogged: Tally[tuple[str, str]] = Tally()
        self._logged_at = -log_interval_s
        self._example: str | None = None

    def record(self, refusals: Iterable[Refusal]) -> list[CommunicationNote]:
        """Account for `refusals`; return the notes to store (one per meter not noted in the last interval)."""
        now = time.monotonic()
        by_meter: dict[str, Tally[str]] = {}
        first: dict[str, Refusal] = {}
        for refusal in refusals:
            REJECTED.labels(refusal.kind, refusal.reason).inc()
            self._unlogged[(refusal.kind, refusal.reason)] += 1
            by_meter.setdefault(refusal.meter_number, Tally())[refusal.reason] += 1
            first.setdefault(refusal.meter_number, refusal)
        if first:
            self._example = next(iter(first))
        notes = [
            CommunicationNote(
                number,
                first[number].reason,
                {"kind": first[number].kind, "field": first[number].field, "refused": sum(reasons.values())},
            )
            for number, reasons in by_meter.items()
            if self._due(number, now)
        ]
        self._log(now)
        return notes

    def _due(self, meter_number: str, now: float) -> bool:
        noted_at = self._noted_at.get(meter_number)
        if noted_at is not None and now - noted_at < self._note_interval_s:
            return False
        if len(self._noted_at) >= _MAX_REMEMBERED:
            self._noted_at.clear()
        self._noted_at[meter_number] = now
        return True

    def _log(self, now: float) -> None:
        if not self._unlogged or now - self._logged_at < self._log_interval_s:
            return
        summary = ", ".join(f"{kind}/{reason}: {count}" for (kind, reason), count in self._unlogged.most_common())
        logger.warning("MQTT input refused since the last report: %s (e.g. meter %r)", summary, self._example)
        self._unlogged.clear()
        self._logged_at = now
