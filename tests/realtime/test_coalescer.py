"""The coalescer alone: newest value per code wins, one release per meter per interval, bounded memory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hes.ingest.records import NO_READINGS, IncomingReading, MeterTouch, ReadingColumns, StoredBatch
from hes.obis.codes import ObisCode
from hes.realtime.coalescer import ReadingCoalescer

T0 = datetime(2024, 5, 1, tzinfo=UTC)


def _batch(meter_id: int, *readings: tuple[str, int, float]) -> StoredBatch:
    stored = tuple(
        IncomingReading(meter_id, ObisCode.parse(code), T0 + timedelta(seconds=at), value)
        for code, at, value in readings
    )
    touch = MeterTouch(meter_id, f"M-{meter_id}", "A", max(r.timestamp for r in stored), came_online=False)
    return StoredBatch(ReadingColumns.of(stored), (), (touch,))


def _values(wire: object) -> dict[str, float]:
    assert isinstance(wire, dict)
    return {reading["obis"]: reading["value"] for reading in wire["readings"]}


def test_each_meter_is_released_at_most_once_per_interval_with_its_newest_values() -> None:
    coalescer = ReadingCoalescer(min_interval_s=1.0)
    coalescer.add(_batch(1, ("1-0:1.8.0.255", 0, 1.0)))
    [first], next_due = coalescer.release(10.0)
    assert (_values(first.wire()), next_due) == ({"1-0:1.8.0.255": 1.0}, None)
    coalescer.add(_batch(1, ("1-0:1.8.0.255", 1, 2.0), ("1-0:32.7.0.255", 1, 230.0)))
    coalescer.add(_batch(1, ("1-0:1.8.0.255", 2, 3.0)))
    assert coalescer.release(10.5) == ([], 11.0)
    [second], next_due = coalescer.release(11.0)
    assert (_values(second.wire()), next_due) == ({"1-0:1.8.0.255": 3.0, "1-0:32.7.0.255": 230.0}, None)
    assert coalescer.pending_meters == 0


def test_meters_are_held_independently() -> None:
    coalescer = ReadingCoalescer(min_interval_s=1.0)
    coalescer.add(_batch(1, ("1-0:1.8.0.255", 0, 1.0)))
    coalescer.release(10.0)
    coalescer.add(_batch(1, ("1-0:1.8.0.255", 1, 2.0)))
    coalescer.add(_batch(2, ("1-0:1.8.0.255", 1, 5.0)))
    released, next_due = coalescer.release(10.2)
    assert ([update.meter_id for update in released], next_due) == ([2], 11.0)


def test_an_older_reading_never_replaces_a_newer_one() -> None:
    coalescer = ReadingCoalescer()
    coalescer.add(_batch(1, ("1-0:1.8.0.255", 60, 160.0)))
    coalescer.add(_batch(1, ("1-0:1.8.0.255", 0, 100.0)))
    [update], _ = coalescer.release(0.0)
    assert _values(update.wire()) == {"1-0:1.8.0.255": 160.0}
    assert update.wire()["lastSeenAt"] == (T0 + timedelta(seconds=60)).isoformat()


def test_memory_stays_bounded() -> None:
    coalescer = ReadingCoalescer(min_interval_s=1.0, max_codes_per_meter=3)
    codes = [f"1-0:{c}.7.0.255" for c in range(1, 10)]
    coalescer.add(_batch(1, *[(code, 0, float(index)) for index, code in enumerate(codes)]))
    [update], _ = coalescer.release(0.0)
    assert len(update.wire()["readings"]) == 3  # type: ignore[arg-type]
    # Release times are forgotten once they no longer hold anything back.
    for meter_id in range(2, 1002):
        coalescer.add(_batch(meter_id, ("1-0:1.8.0.255", 0, 1.0)))
    coalescer.release(1.0)
    coalescer.release(5.0)
    assert coalescer._released == {}


def test_a_batch_of_repeats_only_sends_nothing() -> None:
    coalescer = ReadingCoalescer()
    coalescer.add(StoredBatch(NO_READINGS, (), (MeterTouch(1, "M-1", None, T0, came_online=False),)))
    assert coalescer.release(0.0) == ([], None)


def test_the_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        ReadingCoalescer(min_interval_s=0)
