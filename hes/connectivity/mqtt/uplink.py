"""Readings, events and status messages from meters, gathered into ingest batches and acknowledged once durable.

Each QoS 1 message is acknowledged to the broker (PUBACK) only after the batch holding it has been stored, so
the broker keeps every message HES Core has not stored in HES Core's persistent session and sends it again
after a reconnect or a restart. A batch whose submission fails is not acknowledged at all; the caller ends
the connection and the broker redelivers it (a repeat of a stored reading is a duplicate, not a second row).

A message that can never be stored (not JSON, wrong types, unknown meter) is acknowledged with its batch and
accounted for by the `RejectLedger`: redelivering it would only fail again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client import Counter

from hes.connectivity.mqtt.payloads import PayloadProblem, decode_events, decode_readings, decode_status
from hes.connectivity.mqtt.rejects import Refusal, RejectLedger
from hes.connectivity.mqtt.sink import MeterDataSink
from hes.connectivity.mqtt.topics import Uplink, UplinkTopic
from hes.ingest.intake import IntakeResult, NamedEvent, NamedReadings

logger = logging.getLogger(__name__)

MESSAGES = Counter("hes_mqtt_messages_total", "MQTT messages received from meters, by kind", ["kind"])
ACKED = Counter("hes_mqtt_acked_total", "MQTT messages acknowledged to the broker after their batch was durable")
SUBMIT_FAILURES = Counter(
    "hes_mqtt_submit_failures_total", "MQTT batches not stored (left unacknowledged for the broker to redeliver)"
)
# The wire name of each item kind the ingest path reports problems for.
_KIND_OF_ITEM = {"reading": Uplink.READINGS.value, "event": Uplink.EVENTS.value}
# Bound once: a labels() lookup per message is measurable at 15,000 messages/s.
_RECEIVED = {kind: MESSAGES.labels(kind.value) for kind in Uplink}
Ack = Callable[[Sequence[int]], None]  # sends the PUBACKs of QoS 1 message ids


@dataclass(slots=True)
class _Batch:
    """What the messages gathered so far carry, in the column form the ingest path takes."""

    messages: int = 0
    mids: list[int] = field(default_factory=list)  # QoS 1 message ids to acknowledge once stored
    meter_numbers: list[str] = field(default_factory=list)
    obis: list[str] = field(default_factory=list)
    timestamps: list[datetime] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    units: list[str | None] = field(default_factory=list)
    events: list[NamedEvent] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)  # meters whose status message said they are online
    refusals: list[Refusal] = field(default_factory=list)

    def weight(self) -> int:
        """Readings plus events, or messages when those are more: what the batch limit applies to."""
        return max(len(self.meter_numbers) + len(self.events), self.messages)


class UplinkBatcher:
    """Turns uplink messages into ingest submissions, at most `max_submits` in flight, and acknowledges them.

    Batching adapts to the load: a message is submitted as soon as a submission slot is free, and while every
    slot is busy the messages arriving meanwhile gather into the next batch (up to `batch_readings` per
    submission). What HES Core holds unacknowledged is bounded by the broker's window, the session's Receive
    Maximum: the broker sends no more until HES Core acknowledges.
    """

    def __init__(
        self, sink: MeterDataSink, ack: Ack, ledger: RejectLedger, *, batch_readings: int, max_submits: int
    ) -> None:
        self._sink = sink
        self._ack = ack
        self._ledger = ledger
        self._batch_readings = batch_readings
        self._max_submits = max_submits
        self._batch = _Batch()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._loop = asyncio.get_running_loop()
        self._submit_pending = False
        self._closing = False
        self.failure: asyncio.Future[BaseException] = self._loop.create_future()
        self.stored_batches = 0

    def add(self, topic: UplinkTopic, payload: bytes | bytearray, mid: int, qos: int) -> None:
        """Decode one message into the gathering batch (bad content becomes refusals, never an exception)."""
        batch = self._batch
        kind = topic.kind
        _RECEIVED[kind].inc()
        number = topic.meter_number
        if kind is Uplink.READINGS:
            readings = decode_readings(payload)
            for reading in readings.items:
                batch.meter_numbers.append(number)
                batch.obis.append(reading.obis)
                batch.timestamps.append(reading.timestamp)
                batch.values.append(reading.value)
                batch.units.append(reading.unit)
            if readings.problems:
                self._refuse(number, kind, readings.problems)
        elif kind is Uplink.EVENTS:
            events = decode_events(payload)
            for event in events.items:
                position = len(batch.events)
                batch.events.append(NamedEvent(position, number, event.code, event.timestamp, event.details))
            if events.problems:
                self._refuse(number, kind, events.problems)
        elif kind is Uplink.STATUS:
            status = decode_status(payload)
            if isinstance(status, PayloadProblem):
                self._refuse(number, kind, [status])
            elif status.status != "offline":  # a last will says the meter is gone: that is no contact
                batch.seen.add(number)
        batch.messages += 1
        if qos:
            batch.mids.append(mid)
        self._gathered()

    def refuse(self, topic: UplinkTopic, problems: list[PayloadProblem], mid: int, qos: int) -> None:
        """Account for a message the channel could not use; it is acknowledged with the gathering batch."""
        _RECEIVED[topic.kind].inc()
        self._batch.messages += 1
        if qos:
            self._batch.mids.append(mid)
        self._refuse(topic.meter_number, topic.kind, problems)
        self._gathered()

    async def drain(self) -> None:
        """Finish the submissions in flight (acknowledging what they stored); leave the gathered rest unacknowledged."""
        self._closing = True
        while self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)

    def _refuse(self, meter_number: str, kind: Uplink, problems: list[PayloadProblem]) -> None:
        self._batch.refusals += [Refusal(meter_number, kind.value, item.field, item.reason) for item in problems]

    def _gathered(self) -> None:
        if self._batch.weight() >= self._batch_readings:
            self._submit_if_free()
        elif not self._submit_pending:
            # Submit on the loop's next turn: messages the same socket read delivered join this batch.
            self._submit_pending = True
            self._loop.call_soon(self._submit_soon)

    def _submit_soon(self) -> None:
        self._submit_pending = False
        self._submit_if_free()

    def _submit_if_free(self) -> None:
        if self._closing or self.failure.done() or len(self._in_flight) >= self._max_submits:
            return
        batch, self._batch = self._batch, _Batch()
        if not batch.messages:
            return
        task = self._loop.create_task(self._store(batch), name="hes-mqtt-submit")
        self._in_flight.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        # Messages gathered while every slot was busy go now: no new message may come to trigger them.
        self._submit_if_free()

    async def _store(self, batch: _Batch) -> None:
        try:
            result = await self._write(batch)
        except Exception as error:
            SUBMIT_FAILURES.inc()
            logger.warning("MQTT batch of %d messages not stored, left for redelivery: %r", batch.messages, error)
            if not self.failure.done():
                self.failure.set_result(error)
            return
        self._ack(batch.mids)
        ACKED.inc(batch.messages)
        self.stored_batches += 1
        await self._account(batch, result)

    async def _write(self, batch: _Batch) -> IntakeResult | None:
        result = None
        if batch.meter_numbers or batch.events:
            readings = NamedReadings(batch.meter_numbers, batch.obis, batch.timestamps, batch.values, batch.units)
            result = await self._sink.take_in(readings, batch.events)
        if batch.seen:
            await self._sink.touch(batch.seen)
        return result

    async def _account(self, batch: _Batch, result: IntakeResult | None) -> None:
        refusals = batch.refusals
        if result is not None and result.rejected:
            refusals = refusals + [
                Refusal(problem.meter_number or "", _KIND_OF_ITEM.get(problem.item, problem.item), problem.field,
                        problem.reason)
                for problem in result.rejected
            ]  # fmt: skip
        if not refusals:
            return
        notes = self._ledger.record(refusals)
        if not notes:
            return
        try:
            await self._sink.report(notes)
        except Exception as error:  # the readings are stored; only the note about the refusals is lost
            logger.warning("could not log %d MQTT refusal notes as events: %r", len(notes), error)
