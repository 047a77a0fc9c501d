"""One micro-batch: the submissions it gathers, its single transaction, and what each sender is told.

Everything a batch stores is written in one transaction: readings (COPY into staging, then into
`readings` skipping repeats), each meter's latest values, last-seen and online marks, and events. Either
all of it is durable when the senders hear back, or none of it is.
"""

from __future__ import annotations

import asyncio
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import chain

from sqlalchemy.ext.asyncio import AsyncSession

from hes.db.store import ingest_batches, latest_readings, meter_contact
from hes.db.store.events import insert_events
from hes.db.store.ingest_batches import EventKey, StagedReadings
from hes.db.store.meter_contact import MeterRef
from hes.ingest.records import (
    IncomingEvent,
    IngestReceipt,
    MeterTouch,
    ReadingColumns,
    Rejection,
    StoredBatch,
    StoredEvent,
)
from hes.obis.codes import ObisCode


@dataclass(eq=False, slots=True)
class Submission:
    """One sender's normalised readings and events, waiting in the queue for its batch to be durable."""

    columns: ReadingColumns
    events: list[IncomingEvent]
    rejected: tuple[Rejection, ...]
    rejected_events: tuple[Rejection, ...]
    future: asyncio.Future[IngestReceipt]

    @property
    def size(self) -> int:
        """Readings plus events: what the submission counts against the queue's bound."""
        return len(self.columns) + len(self.events)


@dataclass(frozen=True, slots=True)
class Written:
    """What a batch's transaction stored, by position in the batch (submissions in order, end to end)."""

    readings: ReadingColumns  # every reading of the batch, submissions end to end
    repeats: list[int]  # readings already stored before (or earlier in the same batch), ascending
    event_repeats: list[int]  # events already in the event log, ascending
    event_ids: list[int]  # ids of the events stored, in batch order
    touched: list[int]  # ids of every meter the batch has readings or events for, ascending
    came_online: frozenset[int]
    seen_at: datetime


async def write(
    session: AsyncSession, batch: Sequence[Submission], obis_ids: dict[ObisCode, int], seen_at: datetime
) -> Written:
    """Store the whole batch in one transaction and commit it; nothing is stored if anything fails."""
    readings = ReadingColumns.joined([submission.columns for submission in batch])
    staged = _staged(readings, obis_ids)
    events = list(chain.from_iterable(submission.events for submission in batch))
    touched = sorted(set(staged.meter_ids).union(event.meter_id for event in events))
    await ingest_batches.stage(session, staged)
    repeats = await ingest_batches.store_staged(session, len(staged))
    await latest_readings.upsert_from_staging(session)
    await ingest_batches.clear_staged(session)
    came_online = await meter_contact.mark_seen(session, touched, seen_at)
    new_events, event_repeats = await _new_events(session, events)
    event_ids = await insert_events(session, new_events)
    await session.commit()
    return Written(readings, repeats, event_repeats, event_ids, touched, frozenset(came_online), seen_at)


def codes_of(batch: Sequence[Submission]) -> set[ObisCode]:
    """Every OBIS code the batch's readings use."""
    return set(chain.from_iterable(submission.columns.codes for submission in batch))


def receipts(batch: Sequence[Submission], written: Written) -> list[IngestReceipt]:
    """What each submission's sender is told, in batch order."""
    answers: list[IngestReceipt] = []
    reading_offset = event_offset = 0
    for submission in batch:
        readings, events = len(submission.columns), len(submission.events)
        repeats = _between(written.repeats, reading_offset, reading_offset + readings)
        event_repeats = _between(written.event_repeats, event_offset, event_offset + events)
        answers.append(
            IngestReceipt(
                accepted=readings - repeats,
                duplicates=repeats,
                rejected=submission.rejected,
                events_accepted=events - event_repeats,
                events_duplicates=event_repeats,
                rejected_events=submission.rejected_events,
            )
        )
        reading_offset += readings
        event_offset += events
    return answers


def stored_batch(batch: Sequence[Submission], written: Written, meters: dict[int, MeterRef]) -> StoredBatch:
    """What listeners are told: the new readings (repeats left out), the stored events, the meters heard from."""
    readings = written.readings.without(written.repeats)
    events = list(chain.from_iterable(submission.events for submission in batch))
    repeated_events = set(written.event_repeats)
    new_events = [event for position, event in enumerate(events) if position not in repeated_events]
    stored_events = tuple(map(StoredEvent, written.event_ids, new_events))
    touches = tuple(
        MeterTouch(
            meter_id=meter_id,
            meter_number=meters[meter_id].meter_number,
            area_code=meters[meter_id].area_code,
            last_seen_at=written.seen_at,
            came_online=meter_id in written.came_online,
        )
        for meter_id in written.touched
        if meter_id in meters
    )
    return StoredBatch(readings, stored_events, touches)


def _staged(readings: ReadingColumns, obis_ids: dict[ObisCode, int]) -> StagedReadings:
    # Per distinct code once, then an index per reading: no code object is hashed per reading.
    ids = [obis_ids[code] for code in readings.codes]
    return StagedReadings(
        readings.meter_ids,
        list(map(ids.__getitem__, readings.code_index)),
        readings.timestamps,
        readings.values,
        readings.qualities,
        readings.sources,
    )


async def _new_events(session: AsyncSession, events: list[IncomingEvent]) -> tuple[list[IncomingEvent], list[int]]:
    """Events not yet in the log (nor earlier in this batch), and the positions of those that are."""
    if not events:
        return [], []
    keys = [EventKey(event.meter_id, event.event_type, event.code, event.timestamp) for event in events]
    await ingest_batches.lock_event_log(session)  # the last lock the transaction takes: no deadlock on it
    seen = await ingest_batches.stored_events(session, keys)
    new_events: list[IncomingEvent] = []
    repeats: list[int] = []
    for position, (key, event) in enumerate(zip(keys, events, strict=True)):
        if key in seen:
            repeats.append(position)
        else:
            seen.add(key)
            new_events.append(event)
    return new_events, repeats


def _between(ascending: list[int], start: int, end: int) -> int:
    return bisect_left(ascending, end) - bisect_left(ascending, start)
