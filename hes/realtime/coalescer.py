"""Merges stored readings per meter and releases each meter at most once per interval (no I/O, no clock of its own).

A burst of thousands of batches for one meter becomes one update carrying the newest value of each OBIS code, so
browsers see the latest state without being flooded. Memory stays bounded: per pending meter only the newest value
of each code (at most `max_codes_per_meter`), plus the release time of meters released within the last interval.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from hes.ingest.records import StoredBatch
from hes.realtime.payloads import Wire, iso, reading_wire

# A meter exposes a few dozen registers in practice (IDIS profiles list < 100 per meter); a source sending more
# distinct codes than this in one interval is misbehaving, and its extra codes wait for the next interval.
DEFAULT_MAX_CODES_PER_METER = 256


@dataclass(slots=True)
class _Pending:
    meter_number: str | None = None
    area_code: str | None = None
    last_seen_at: datetime | None = None
    # OBIS code text -> (timestamp, value, unit): the newest reading of each code since the meter was last released.
    readings: dict[str, tuple[datetime, float, str | None]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MeterUpdate:
    """One meter's merged update, ready for its rooms; its wire form is built only when a room wants it."""

    meter_id: int
    area_code: str | None
    _pending: _Pending

    def wire(self) -> Wire:
        """The meter's entry in `meter-reading-update`."""
        return _wire(self.meter_id, self._pending)


class ReadingCoalescer:
    """Newest readings per meter, each meter released at most once per `min_interval_s` seconds."""

    def __init__(self, min_interval_s: float = 1.0, max_codes_per_meter: int = DEFAULT_MAX_CODES_PER_METER) -> None:
        if min_interval_s <= 0:
            raise ValueError("min_interval_s must be positive")
        self._interval = min_interval_s
        self._max_codes = max_codes_per_meter
        self._pending: dict[int, _Pending] = {}
        # meter -> monotonic time of its last release, oldest first (re-inserted on each release).
        self._released: dict[int, float] = {}

    @property
    def pending_meters(self) -> int:
        """How many meters have readings waiting."""
        return len(self._pending)

    def add(self, batch: StoredBatch) -> None:
        """Merge a stored batch: a newer reading of a code replaces the older one, an older one is ignored."""
        pending, readings = self._pending, batch.readings
        # Codes as text, once per distinct code: the key of a meter's pending readings and the wire's "obis" alike.
        names = [str(code) for code in readings.codes]
        columns = (readings.code_index, readings.timestamps, readings.values, readings.units)
        for meter_id, index, moment, value, unit in zip(readings.meter_ids, *columns, strict=True):
            entry = pending.get(meter_id)
            if entry is None:
                entry = pending[meter_id] = _Pending()
            name = names[index]
            current = entry.readings.get(name)
            if current is None:
                if len(entry.readings) >= self._max_codes:
                    continue
            elif current[0] > moment:
                continue
            entry.readings[name] = (moment, value, unit)
        for touch in batch.meters:
            entry = pending.get(touch.meter_id)
            if entry is None:
                continue  # nothing new stored for it (all repeats): no reading update to send
            entry.meter_number = touch.meter_number
            entry.area_code = touch.area_code
            if entry.last_seen_at is None or touch.last_seen_at > entry.last_seen_at:
                entry.last_seen_at = touch.last_seen_at

    def release(self, now: float) -> tuple[list[MeterUpdate], float | None]:
        """The meters whose interval has passed at monotonic time `now`, and when the next waiting one is due."""
        self._forget_released_before(now - self._interval)
        updates: list[MeterUpdate] = []
        next_due: float | None = None
        released = self._released
        for meter_id in list(self._pending):
            last = released.get(meter_id)
            if last is not None:
                due = last + self._interval
                if due > now:
                    next_due = due if next_due is None else min(next_due, due)
                    continue
                del released[meter_id]
            entry = self._pending.pop(meter_id)
            released[meter_id] = now
            updates.append(MeterUpdate(meter_id, entry.area_code, entry))
        return updates, next_due

    def _forget_released_before(self, cutoff: float) -> None:
        # Insertion order is release order, so the stale ones are at the front. One pass, then the deletes: taking
        # the first item again after each delete walks every deleted slot before it, quadratic in a burst.
        stale: list[int] = []
        for meter_id, at in self._released.items():
            if at > cutoff:
                break
            stale.append(meter_id)
        for meter_id in stale:
            del self._released[meter_id]


def _wire(meter_id: int, entry: _Pending) -> Wire:
    return {
        "meterId": meter_id,
        "meterNumber": entry.meter_number,
        "areaCode": entry.area_code,
        "lastSeenAt": iso(entry.last_seen_at),
        "readings": [
            reading_wire(name, moment, value, unit) for name, (moment, value, unit) in sorted(entry.readings.items())
        ],
    }
