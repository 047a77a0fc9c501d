"""`meter-update` payloads into named readings, and the ack built from what the ingest path answered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from hes.errors import InvalidInput
from hes.ingest.intake import METER_NOT_ALLOWED, IntakeResult, ItemProblem
from hes.realtime.device import MAX_READINGS_PER_UPDATE, Rejected, ack, readings_from_update, stored_ack

READING = {"meterNumber": "M-REG", "obis": "1-0:1.8.0.255", "timestamp": "2024-05-01T00:00:00Z", "value": 7}


def test_readings_keep_the_meters_names_and_their_positions_in_the_message() -> None:
    update = readings_from_update(
        {"readings": ["bad", READING, {**READING, "timestamp": "2024-05-01T01:00:00+01:00", "unit": "kWh"}]}
    )
    readings = update.readings
    assert (list(readings.meter_numbers), list(readings.obis)) == (["M-REG"] * 2, ["1-0:1.8.0.255"] * 2)
    assert list(readings.timestamps) == [
        datetime(2024, 5, 1, tzinfo=UTC),
        datetime(2024, 5, 1, 1, tzinfo=timezone(timedelta(hours=1))),
    ]
    assert (list(readings.values), list(readings.units)) == ([7.0, 7.0], [None, "kWh"])
    assert readings.positions == [1, 2]
    assert [reject.index for reject in update.rejected] == [0]


@pytest.mark.parametrize(
    ("item", "says"),
    [
        ("not an object", "object"),
        ({**READING, "meterNumber": ""}, "meterNumber"),
        ({**READING, "meterNumber": "M" * 33}, "meterNumber"),
        ({**READING, "obis": 1.8}, "obis"),
        ({**READING, "timestamp": 1714521600}, "timestamp"),
        ({**READING, "timestamp": "yesterday"}, "ISO 8601"),
        ({**READING, "value": True}, "value must be a number"),
        ({**READING, "value": "12"}, "value must be a number"),
        ({**READING, "value": 10**400}, "value is out of range"),
        ({**READING, "unit": ["kWh"]}, "unit"),
        ({**READING, "unit": "k" * 17}, "unit"),
    ],
)
def test_an_item_that_is_no_reading_is_rejected_with_a_reason_naming_what_is_wrong(item: object, says: str) -> None:
    update = readings_from_update({"readings": [item, READING]})
    assert update.readings.positions == [1]
    [rejected] = update.rejected
    assert rejected.index == 0 and says in rejected.reason


def test_what_the_ingest_path_judges_is_passed_on_unjudged() -> None:
    """Unknown OBIS codes, naive timestamps and non-finite values are the ingest path's to refuse, by its codes."""
    items = [
        {**READING, "obis": "energy"},
        {**READING, "timestamp": "2024-05-01T12:00:00"},
        {**READING, "value": 1e308},
    ]
    update = readings_from_update({"readings": items})
    assert update.rejected == [] and update.readings.positions == [0, 1, 2]


@pytest.mark.parametrize("payload", [None, [], "readings", {"readings": "all of them"}, {"reading": []}])
def test_a_payload_that_is_no_update_is_refused_whole(payload: object) -> None:
    with pytest.raises(InvalidInput, match="meter-update takes"):
        readings_from_update(payload)


def test_too_many_readings_in_one_update_are_refused() -> None:
    with pytest.raises(InvalidInput, match="too many") as refused:
        readings_from_update({"readings": [READING] * (MAX_READINGS_PER_UPDATE + 1)})
    assert refused.value.problems[0].message == f"at most {MAX_READINGS_PER_UPDATE}, got {MAX_READINGS_PER_UPDATE + 1}"


def test_the_ack_lists_the_parsers_and_the_ingest_paths_refusals_in_message_order() -> None:
    update = readings_from_update({"readings": [READING, "bad", READING]})
    refused = ItemProblem("reading", 2, "M-REG", "meterNumber", METER_NOT_ALLOWED, "M-REG")
    result = IntakeResult(accepted=0, duplicates=1, events_accepted=0, events_duplicates=0, rejected=(refused,))
    assert stored_ack(update, result) == {
        "accepted": 0,
        "duplicates": 1,
        "rejected": [
            {"index": 1, "reason": update.rejected[0].reason},
            {"index": 2, "reason": "meter_not_allowed"},
        ],
        "error": None,
    }


def test_an_ack_with_an_error_says_nothing_was_stored() -> None:
    assert ack(rejected=[Rejected(3, "why")], error="retry") == {
        "accepted": 0,
        "duplicates": 0,
        "rejected": [{"index": 3, "reason": "why"}],
        "error": "retry",
    }
