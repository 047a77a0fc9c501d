"""A meter's queue: most urgent first, then first come; coalescing; back-off that urgent jobs do not wait for."""

from __future__ import annotations

import asyncio

import pytest

from hes.connectivity.catalogue import Priority
from hes.connectivity.dlms import DlmsSession
from hes.connectivity.job_queue import JobHandle, MeterJob, MeterQueue, PendingJob, ReadyMeters
from tests.connectivity.targets import target


async def _nothing(session: DlmsSession) -> None:
    return None


def _pending(order: int, priority: int, key: str | None = None, meter_id: int = 1) -> PendingJob:
    job = MeterJob(f"job-{order}", _nothing, priority=priority, key=key)
    return PendingJob(job, meter_id, order, asyncio.get_running_loop().create_future())


async def test_jobs_run_most_urgent_first_then_in_order_of_arrival() -> None:
    queue = MeterQueue(target())
    for order, priority in enumerate((3, 8, 3, 4)):
        queue.add(_pending(order, priority))
    taken = [pending.job.kind for pending in queue.take_all(0.0)]
    assert taken == ["job-1", "job-3", "job-0", "job-2"]
    assert len(queue) == 0


async def test_a_waiting_job_with_the_same_key_is_not_queued_twice() -> None:
    queue = MeterQueue(target())
    first = queue.add(_pending(0, 3, key="poll:registers"))
    assert queue.add(_pending(1, 3, key="poll:registers")) is first
    assert queue.take(0.0) is first
    second = _pending(2, 3, key="poll:registers")
    assert queue.add(second) is second  # the first one started: a new poll is queued


async def test_a_back_off_holds_polling_but_not_urgent_jobs_and_withdrawn_jobs_are_dropped() -> None:
    queue = MeterQueue(target())
    polling, urgent = _pending(0, Priority.POLL_PROFILE), _pending(1, Priority.ON_DEMAND)
    queue.add(polling)
    queue.not_before = 10.0
    assert queue.best(5.0) is None and queue.wakeup() == 10.0
    queue.add(urgent)
    assert queue.take(5.0) is urgent and urgent.attempts == 1
    assert queue.take(10.0) is polling
    withdrawn = _pending(2, 3)
    queue.add(withdrawn)
    assert JobHandle(withdrawn).cancel()
    assert queue.best(11.0) is None and queue.wakeup() is None


async def test_ready_meters_come_most_urgent_first_and_stale_entries_are_skipped() -> None:
    ready = ReadyMeters()
    meters = {meter_id: MeterQueue(target(id=meter_id)) for meter_id in (1, 2, 3)}
    ready.push(meters[1], 3)
    ready.push(meters[2], 8)
    ready.push(meters[3], 3)
    ready.push(meters[1], 5)  # raised: its entry with 3 is stale now
    meters[3].active = True  # in a session: skipped
    assert [(meter.target.meter_id, priority) for meter, priority in ready.pop(meters)] == [(2, 8), (1, 5)]


def test_a_job_priority_is_0_to_9() -> None:
    with pytest.raises(ValueError):
        MeterJob("x", _nothing, priority=10)
    with pytest.raises(ValueError):
        MeterJob("x", _nothing, retries=-1)
