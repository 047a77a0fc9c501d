"""Visits become attempt outcomes and, when they failed, communication events; written in batches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hes.connectivity.dlms import AssociationRejected, DlmsTimeout
from hes.connectivity.errors import NotConnected
from hes.connectivity.visit_records import COMMUNICATION_FAILED, VisitRecorder
from hes.connectivity.visits import VisitReport
from hes.db.enums import EventCategory, Severity
from hes.runtime import Runtime
from tests.connectivity.fleet import events_of, meter_row
from tests.connectivity.targets import target
from tests.ingest.fleet import add_meters


async def test_outcomes_and_failure_events_are_written_together_at_the_flush(runtime: Runtime) -> None:
    ok_id, failing_id, elsewhere_id = (await add_meters(runtime, ["M-1", "M-2", "M-3"])).values()
    recorder = VisitRecorder(runtime.sessions, runtime.ingestor, interval=60, batch=1000)
    now = datetime.now(UTC).replace(microsecond=0)
    recorder.record(VisitReport(target(id=ok_id), now, ("registers",), None, 1, 320))
    for attempt, error in enumerate((DlmsTimeout("no whole answer within 30 s"), AssociationRejected(1, 13)), 1):
        at = now + timedelta(seconds=attempt)
        recorder.record(VisitReport(target(id=failing_id), at, ("registers", "load_profile"), error, attempt))
    recorder.record(VisitReport(target(id=elsewhere_id), now, ("registers",), NotConnected("not here")))
    assert await events_of(runtime, failing_id) == []  # nothing before the flush
    await recorder.flush()
    ok, failing, elsewhere = [await meter_row(runtime, meter_id) for meter_id in (ok_id, failing_id, elsewhere_id)]
    assert ok.last_success_at == now and ok.last_round_trip_ms == 320 and ok.consecutive_failures == 0
    assert failing.consecutive_failures == 2 and failing.last_success_at is None
    assert elsewhere.consecutive_failures == 0  # not reached: no attempt
    timeout, rejected = await events_of(runtime, failing_id, COMMUNICATION_FAILED)
    assert (timeout.category, timeout.severity) == (EventCategory.COMMUNICATION, Severity.WARNING)
    assert timeout.details == {
        "error": "DlmsTimeout",
        "dlmsCode": None,
        "message": "no whole answer within 30 s",
        "attempt": 1,
        "jobs": "registers,load_profile",
        "channel": "outbound",
    }
    assert rejected.details is not None and (rejected.details["error"], rejected.details["dlmsCode"]) == (
        "AssociationRejected",
        13,
    )
    assert await events_of(runtime, elsewhere_id) == []


async def test_the_writer_flushes_on_its_own_and_on_stop(runtime: Runtime) -> None:
    (meter_id,) = (await add_meters(runtime, ["M-1"])).values()
    recorder = VisitRecorder(runtime.sessions, runtime.ingestor, interval=3600, batch=1)
    await recorder.start()
    recorder.record(VisitReport(target(id=meter_id), datetime.now(UTC), ("registers",), DlmsTimeout("late")))
    await recorder.stop()
    assert len(await events_of(runtime, meter_id, COMMUNICATION_FAILED)) == 1
