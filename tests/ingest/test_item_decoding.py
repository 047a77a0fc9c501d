"""Pushed items decoded one by one: the good ones kept with their positions, each bad one named by field and reason."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
import pytest
from msgspec import Meta

from hes.ingest.item_decoding import Fault, decode_each, fault_of


class _Reading(msgspec.Struct, rename="camel"):
    meter_number: Annotated[str, Meta(max_length=8)]
    timestamp: Annotated[datetime, Meta(tz=True)]
    value: float


_DECODER = msgspec.json.Decoder(_Reading)


def test_good_items_keep_their_positions_and_bad_ones_their_fault() -> None:
    raws = [
        msgspec.Raw(b'{"meterNumber": "M1", "timestamp": "2025-01-31T10:00:00Z", "value": 1}'),
        msgspec.Raw(b'{"meterNumber": "M1", "timestamp": "2025-01-31T10:00:00Z", "value": "1"}'),
        msgspec.Raw(b'{"meterNumber": "M1", "timestamp": "2025-01-31T10:15:00Z", "value": 2}'),
    ]
    decoded = decode_each(raws, _DECODER)
    assert [item.value for item in decoded.items] == [1.0, 2.0]
    assert decoded.positions == [0, 2]
    [bad] = decoded.undecoded
    assert (bad.index, bad.raw, bad.fault) == (1, raws[1], Fault("value", "wrong_type"))


@pytest.mark.parametrize(
    ("item", "fault"),
    [
        (b'{"timestamp": "2025-01-31T10:00:00Z", "value": 1}', Fault("meterNumber", "missing_field")),
        (b'{"meterNumber": "TOO-LONG-NUMBER", "timestamp": "2025-01-31T10:00:00Z", "value": 1}',
         Fault("meterNumber", "too_long")),
        (b'{"meterNumber": "M1", "timestamp": "2025-01-31T10:00:00", "value": 1}',
         Fault("timestamp", "naive_timestamp")),
        (b'{"meterNumber": "M1", "timestamp": "yesterday", "value": 1}', Fault("timestamp", "invalid_timestamp")),
        (b"[1, 2]", Fault("item", "not_an_object")),
    ],
)  # fmt: skip
def test_each_fault_is_named_by_field_and_reason(item: bytes, fault: Fault) -> None:
    with pytest.raises(msgspec.ValidationError) as refused:
        _DECODER.decode(item)
    assert fault_of(refused.value) == fault


class _Batch(msgspec.Struct):
    readings: list[_Reading]


def test_the_field_is_named_inside_a_batch_too() -> None:
    batch = msgspec.json.Decoder(_Batch)
    with pytest.raises(msgspec.ValidationError) as refused:
        batch.decode(b'{"readings": [{"meterNumber": "M1", "timestamp": "2025-01-31T10:00:00Z", "value": null}]}')
    assert fault_of(refused.value) == Fault("value", "wrong_type")
