"""Pushed items (readings, events) decoded one by one with msgspec, each refusal named by its field and a reason.

Senders that push batches (HTTP, MQTT) first decode a whole message in one pass; only when that fails is each
item decoded on its own, so the bad ones are named and the good ones are still stored. This is that second
pass, shared so that a sender hears the same reason for the same fault whichever way it sent it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import msgspec

ItemT = TypeVar("ItemT")

# msgspec's validation messages, to the short reasons senders are given. First match wins.
_REASONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), reason)
    for pattern, reason in (
        (r"^Object missing required field", "missing_field"),
        (r"^Object contains unknown field", "unknown_field"),
        (r"with a timezone component", "naive_timestamp"),
        (r"^Invalid RFC3339", "invalid_timestamp"),
        (r"^Number out of range|^Expected `(float|int)` [<>]=", "out_of_range"),
        (r"^Expected `(str|object|array)` of length", "too_long"),
        (r"^Expected `object`, got", "not_an_object"),
        (r"^Expected", "wrong_type"),
    )
)
# The member at fault: `$.obis` for an item on its own, `$.readings[3].obis` inside a batch.
_FIELD = re.compile(r"at `\$(?:\.readings|\.events)?(?:\[\d+\])?\.([A-Za-z]+)")
_MISSING = re.compile(r"field `([A-Za-z]+)`")


@dataclass(frozen=True, slots=True)
class Fault:
    """Why msgspec refused something: the wire name of the member at fault (`item` if none) and a short reason."""

    field: str
    reason: str


def fault_of(error: msgspec.ValidationError) -> Fault:
    """The field and reason of a msgspec validation error."""
    message = str(error)
    reason = next((reason for pattern, reason in _REASONS if pattern.search(message)), "invalid")
    where = _MISSING.search(message) if reason in ("missing_field", "unknown_field") else _FIELD.search(message)
    return Fault(where[1] if where else "item", reason)


@dataclass(frozen=True, slots=True)
class Undecoded:
    """An item that did not decode: its position, its raw JSON and the fault."""

    index: int
    raw: msgspec.Raw
    fault: Fault


@dataclass(frozen=True, slots=True)
class DecodedItems(Generic[ItemT]):
    """The items that decoded, the position of each among all items, and those that did not."""

    items: list[ItemT]
    positions: list[int]
    undecoded: list[Undecoded]


def decode_each(raws: Sequence[msgspec.Raw], decoder: msgspec.json.Decoder[ItemT]) -> DecodedItems[ItemT]:
    """Each raw item through `decoder`; a refused one is kept with its fault, the others are decoded."""
    decoded: DecodedItems[ItemT] = DecodedItems([], [], [])
    for index, raw in enumerate(raws):
        try:
            decoded.items.append(decoder.decode(raw))
            decoded.positions.append(index)
        except msgspec.ValidationError as error:
            decoded.undecoded.append(Undecoded(index, raw, fault_of(error)))
    return decoded
