"""The Ingestor: durable before it answers, repeats counted per sender, listeners told, back-pressure, failures."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from hes.db.engine import make_engine, make_session_factory
from hes.db.enums import EventCategory, MeterStatus, ReadingQuality, ReadingSource, Severity
from hes.db.tables import Event, LatestReading, Meter
from hes.ingest.errors import IngestClosed, IngestOverloaded, IngestUnavailable
from hes.ingest.ingestor import Ingestor, IngestSettings
from hes.ingest.meter_directory import MeterDirectory
from hes.ingest.obis_catalogue import ObisCatalogue
from hes.ingest.records import IncomingEvent, IncomingReading, StoredBatch
from hes.obis.codes import ObisCode
from hes.runtime import Runtime
from tests.ingest.fleet import START, add_meters, count_readings

ENERGY = ObisCode.parse("1-0:1.8.0.255")
VOLTAGE = ObisCode.parse("1-0:32.7.0.255")
UNITS = {ENERGY: "Wh", VOLTAGE: "V"}  # the catalogue's: values are stored as sent
PUSH = ReadingSource.DLMS_PUSH


def _readings(meter_id: int, count: int, first: int = 0, code: ObisCode = ENERGY) -> list[IncomingReading]:
    return [
        IncomingReading(
            meter_id, code, START + timedelta(minutes=15 * step), 100.0 + step, UNITS[code], ReadingQuality.GOOD, PUSH
        )
        for step in range(first, first + count)
    ]


def _ingestor(runtime: Runtime, **settings: object) -> Ingestor:
    return Ingestor(
        runtime.sessions,
        IngestSettings(**settings),  # type: ignore[arg-type]
        MeterDirectory(runtime.sessions),
        ObisCatalogue(runtime.sessions),
    )


@pytest.fixture
async def ingestor(runtime: Runtime) -> AsyncIterator[Ingestor]:
    """An ingestor whose writer lingers long enough for concurrent senders to share a batch."""
    ingestor = _ingestor(runtime, linger=0.05)
    yield ingestor
    await ingestor.close()


class Recorder:
    """A listener keeping every batch it is told about."""

    def __init__(self) -> None:
        self.batches: list[StoredBatch] = []
        self._told = asyncio.Condition()

    async def batch_stored(self, batch: StoredBatch) -> None:
        async with self._told:
            self.batches.append(batch)
            self._told.notify_all()

    async def wait_for(self, count: int) -> list[StoredBatch]:
        """The first `count` batches, once told (listeners hear after the senders, from another task)."""
        async with self._told:
            await self._told.wait_for(lambda: len(self.batches) >= count)
        return self.batches[:count]


async def test_readings_are_stored_before_the_answer_with_latest_values_and_contact(
    runtime: Runtime, ingestor: Ingestor
) -> None:
    meter = (await add_meters(runtime, ["IN-1"], status=MeterStatus.OFFLINE))["IN-1"]
    receipt = await ingestor.submit(_readings(meter, 8) + _readings(meter, 2, code=VOLTAGE))
    assert (receipt.accepted, receipt.duplicates, receipt.rejected) == (10, 0, ())
    assert await count_readings(runtime, meter) == 10
    async with runtime.sessions() as session:
        stored = await session.get(Meter, meter)
        latest = (
            await session.execute(
                select(func.max(LatestReading.ts), func.count()).where(LatestReading.meter_id == meter)
            )
        ).one()
    assert stored is not None and stored.status is MeterStatus.ONLINE and stored.last_seen_at is not None
    assert tuple(latest) == (START + timedelta(minutes=105), 2)


async def test_concurrent_senders_share_a_batch_and_each_hears_its_own_repeats(
    runtime: Runtime, ingestor: Ingestor
) -> None:
    meter = (await add_meters(runtime, ["IN-2"]))["IN-2"]
    await ingestor.submit(_readings(meter, 5))  # stored before
    receipts = await asyncio.gather(
        ingestor.submit(_readings(meter, 10)),  # 5 repeats of the stored ones
        ingestor.submit(_readings(meter, 10, first=20)),  # all new
        ingestor.submit(_readings(meter, 10, first=25)),  # overlaps the previous sender by 5
    )
    assert [receipt.accepted + receipt.duplicates for receipt in receipts] == [10, 10, 10]
    assert receipts[0].duplicates == 5
    assert sum(receipt.accepted for receipt in receipts) == 5 + 15
    assert await count_readings(runtime, meter) == 25


async def test_listeners_hear_new_readings_events_and_meters_that_came_online(
    runtime: Runtime, ingestor: Ingestor, caplog: pytest.LogCaptureFixture
) -> None:
    ids = await add_meters(runtime, ["IN-3"], status=MeterStatus.INSTALLED, area_code="SOUTH")
    ids |= await add_meters(runtime, ["IN-4"], status=MeterStatus.ONLINE)
    recorder = Recorder()

    class Broken:
        async def batch_stored(self, batch: StoredBatch) -> None:
            raise RuntimeError("listener bug")

    ingestor.subscribe(Broken())
    ingestor.subscribe(recorder)
    await ingestor.submit(_readings(ids["IN-3"], 2))
    cover = IncomingEvent(ids["IN-4"], "terminal_cover_opened", START, EventCategory.TAMPER, Severity.WARNING, 40)
    with caplog.at_level(logging.ERROR, logger="hes.ingest.notifier"):
        receipt = await ingestor.submit(_readings(ids["IN-3"], 4), [cover])
        first, second = await recorder.wait_for(2)
    assert (receipt.accepted, receipt.duplicates, receipt.events_accepted) == (2, 2, 1)
    assert "listener bug" in caplog.text
    assert [(touch.meter_number, touch.area_code, touch.came_online) for touch in first.meters] == [
        ("IN-3", "SOUTH", True)
    ]
    # Repeats are left out; the event comes with its id; nobody came online a second time.
    assert list(second.readings.timestamps) == [
        START + timedelta(minutes=30),
        START + timedelta(minutes=45),
    ]
    assert [(stored.event.event_type, stored.id > 0) for stored in second.events] == [("terminal_cover_opened", True)]
    assert {(touch.meter_number, touch.came_online) for touch in second.meters} == {("IN-3", False), ("IN-4", False)}


async def test_a_meter_back_online_with_only_repeated_readings_is_still_announced(
    runtime: Runtime, ingestor: Ingestor
) -> None:
    meter = (await add_meters(runtime, ["IN-9"], status=MeterStatus.OFFLINE))["IN-9"]
    await ingestor.submit(_readings(meter, 2))
    async with runtime.sessions() as session:
        await session.execute(update(Meter).where(Meter.id == meter).values(status=MeterStatus.OFFLINE))
        await session.commit()
    recorder = Recorder()
    ingestor.subscribe(recorder)
    receipt = await ingestor.submit(_readings(meter, 2))  # a gateway resending what it sent before
    [batch] = await recorder.wait_for(1)
    assert (receipt.accepted, receipt.duplicates) == (0, 2)
    assert not batch.readings.meter_ids
    assert [(touch.meter_id, touch.came_online) for touch in batch.meters] == [(meter, True)]


async def test_events_are_stored_once(runtime: Runtime, ingestor: Ingestor) -> None:
    meter = (await add_meters(runtime, ["IN-5"]))["IN-5"]
    event = IncomingEvent(meter, "power_down", START, EventCategory.POWER, Severity.WARNING, 1, {"phase": 1})
    first = await ingestor.submit([], [event, event])
    again = await ingestor.submit([], [event])
    assert (first.events_accepted, first.events_duplicates, again.events_accepted, again.events_duplicates) == (
        1,
        1,
        0,
        1,
    )
    async with runtime.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Event).where(Event.meter_id == meter)) == 1


async def test_one_event_sent_twice_at_once_is_stored_once(runtime: Runtime) -> None:
    # Two HES instances (or a sender's retry beside its first attempt) writing the same events at the same moment.
    meter = (await add_meters(runtime, ["IN-6"]))["IN-6"]
    events = [
        IncomingEvent(meter, "power_down", START + timedelta(minutes=minute), EventCategory.POWER, Severity.WARNING, 1)
        for minute in range(20)
    ]
    first, second = _ingestor(runtime, linger=0), _ingestor(runtime, linger=0)
    try:
        receipts = await asyncio.gather(
            *(ingestor.submit([], [event]) for event in events for ingestor in (first, second))
        )
    finally:
        await asyncio.gather(first.close(), second.close())
    assert sum(receipt.events_accepted for receipt in receipts) == len(events)
    assert sum(receipt.events_duplicates for receipt in receipts) == len(events)
    async with runtime.sessions() as session:
        stored = await session.scalar(select(func.count()).select_from(Event).where(Event.meter_id == meter))
    assert stored == len(events)


async def test_unknown_meters_and_bad_values_are_refused_in_the_receipt(runtime: Runtime, ingestor: Ingestor) -> None:
    meter = (await add_meters(runtime, ["IN-6"]))["IN-6"]
    readings = [
        *_readings(meter, 1),
        IncomingReading(987_654, ENERGY, START, 1.0),
        IncomingReading(meter, ENERGY, START + timedelta(hours=1), float("nan")),
        IncomingReading(meter, ENERGY, datetime.now(UTC) + timedelta(days=1), 1.0),
    ]
    receipt = await ingestor.submit(readings)
    assert receipt.accepted == 1
    assert [(r.index, r.reason) for r in receipt.rejected] == [
        (1, "unknown_meter"),
        (2, "not_finite"),
        (3, "future_timestamp"),
    ]


async def test_a_full_queue_slows_senders_then_refuses_them(runtime: Runtime) -> None:
    meter = (await add_meters(runtime, ["IN-7"]))["IN-7"]
    ingestor = _ingestor(runtime, queue_readings=10, submit_wait=0.2, writers=1, linger=0)
    try:
        # Another transaction holds the meter's row: the database cannot take the batch for now.
        async with runtime.sessions() as blocker:
            await blocker.execute(update(Meter).where(Meter.id == meter).values(firmware="locked"))
            first = asyncio.create_task(ingestor.submit(_readings(meter, 8)))
            while ingestor.queued < 8:
                await asyncio.sleep(0.01)
            with pytest.raises(IngestOverloaded) as refused:
                await ingestor.submit(_readings(meter, 5, first=8))
            assert refused.value.retry_after >= 1
            await blocker.rollback()
        assert (await first).accepted == 8
        assert (await ingestor.submit(_readings(meter, 5, first=8))).accepted == 5
    finally:
        await ingestor.close()
    assert await count_readings(runtime, meter) == 13


async def test_close_writes_what_is_queued_and_refuses_what_comes_after(runtime: Runtime) -> None:
    meter = (await add_meters(runtime, ["IN-8"]))["IN-8"]
    ingestor = _ingestor(runtime, linger=0.2)
    pending = asyncio.create_task(ingestor.submit(_readings(meter, 3)))
    await asyncio.sleep(0.05)  # queued, the writer still lingering
    await ingestor.close()
    assert (await pending).accepted == 3
    with pytest.raises(IngestClosed):
        await ingestor.submit(_readings(meter, 1, first=10))


async def test_a_database_that_cannot_be_reached_fails_every_sender_of_the_batch(runtime: Runtime) -> None:
    meter = (await add_meters(runtime, ["IN-9"]))["IN-9"]
    # Lookups work (they are cached); the batch write goes to a port nothing listens on.
    dead = make_engine("postgresql+asyncpg://postgres@127.0.0.1:9/nothing")
    directory, catalogue = MeterDirectory(runtime.sessions), ObisCatalogue(runtime.sessions)
    await catalogue.ids_of([ENERGY])
    ingestor = Ingestor(make_session_factory(dead), IngestSettings(linger=0.05, write_timeout=5), directory, catalogue)
    try:
        results = await asyncio.gather(
            ingestor.submit(_readings(meter, 3)), ingestor.submit(_readings(meter, 3, first=5)), return_exceptions=True
        )
    finally:
        await ingestor.close()
        await dead.dispose()
    assert [type(result) for result in results] == [IngestUnavailable, IngestUnavailable]
    assert await count_readings(runtime, meter) == 0


async def test_a_sender_the_database_refuses_does_not_fail_the_others_of_its_batch(
    runtime: Runtime, ingestor: Ingestor
) -> None:
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("SQLite does not enforce string lengths, so nothing here is refused")
    meter = (await add_meters(runtime, ["IN-10"]))["IN-10"]
    too_long = IncomingEvent(meter, "x" * 80, START, EventCategory.TECHNICAL)  # event_type holds 60 characters
    good, bad = await asyncio.gather(
        ingestor.submit(_readings(meter, 4)),
        ingestor.submit(_readings(meter, 4, first=10), [too_long]),
        return_exceptions=True,
    )
    assert isinstance(good, object) and getattr(good, "accepted", None) == 4
    assert isinstance(bad, Exception) and not isinstance(bad, IngestUnavailable)
    # The refused sender's readings were in the same transaction as its event: none of them is stored.
    assert await count_readings(runtime, meter) == 4
