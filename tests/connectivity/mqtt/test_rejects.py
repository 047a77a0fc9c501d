"""Refusal accounting: one note per meter per interval, whatever a meter keeps sending."""

from __future__ import annotations

from prometheus_client import REGISTRY

from hes.connectivity.mqtt.rejects import Refusal, RejectLedger


def test_one_note_per_meter_and_interval_counting_every_refusal() -> None:
    ledger = RejectLedger(note_interval_s=3600)
    before = REGISTRY.get_sample_value("hes_mqtt_rejected_total", {"kind": "events", "reason": "wrong_type"}) or 0
    refusals = [Refusal("M1", "events", "code", "wrong_type")] * 3 + [Refusal("M2", "events", "code", "wrong_type")]
    notes = ledger.record(refusals)
    assert [(note.meter_number, note.reason, note.details["refused"]) for note in notes] == [
        ("M1", "wrong_type", 3),
        ("M2", "wrong_type", 1),
    ]
    assert ledger.record([Refusal("M1", "events", "code", "wrong_type")]) == []  # noted within the hour already
    after = REGISTRY.get_sample_value("hes_mqtt_rejected_total", {"kind": "events", "reason": "wrong_type"})
    assert after == before + 5


def test_without_an_interval_every_batch_notes_again() -> None:
    ledger = RejectLedger(note_interval_s=0)
    refusal = Refusal("M1", "readings", "value", "wrong_type")
    assert len(ledger.record([refusal])) == 1
    assert len(ledger.record([refusal])) == 1
