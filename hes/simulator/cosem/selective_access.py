"""Selective access to a profile generic's buffer (Blue Book 4.3.6): by range (selector 1) and by entry (2).

range_descriptor ::= structure { restricting_object capture_object_definition, from_value, to_value,
selected_values array of capture_object_definition }. Entries whose restricting column lies in
[from_value, to_value] are returned, with only the selected columns (all when the array is empty). A date-time
bound with wildcards is open. entry_descriptor ::= structure { from_entry double-long-unsigned, to_entry
double-long-unsigned, from_selected_value long-unsigned, to_selected_value long-unsigned }: entries and columns
numbered from 1, 0 as "to" meaning the last.

Malformed parameters are type-unmatched; a restricting or selected object the profile does not capture is
other-reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from enum import IntEnum

from hes.obis import ObisCode
from hes.obis.profile_types import ObjectReference
from hes.simulator.cosem.conversions import DATE_TIME_SIZE, decode_time
from hes.simulator.dlms.apdu_services import DataAccessResult
from hes.simulator.dlms.values import INTEGER_WIDTHS, Data, DataType, array, structure

__all__ = ["AccessSelector", "requested_span", "select"]

_LOGICAL_NAME_SIZE = 6  # octets of an OBIS code on the wire
_CLOCK_CLASS = 8


class AccessSelector(IntEnum):
    """Access selectors of the profile generic buffer."""

    RANGE = 1
    ENTRY = 2


class _Refused(Exception):
    """Parameters that cannot be served; carries the data-access-result to answer."""

    def __init__(self, result: DataAccessResult) -> None:
        super().__init__(result.name)
        self.result = result


def select(
    selector: int, parameters: Data, columns: Sequence[ObjectReference], rows: Sequence[Data], zone: tzinfo | None
) -> Data | DataAccessResult:
    """The buffer part the selective access asks for: an array of row structures.

    Args:
        selector: the access selector (1 range, 2 entry; others are other-reason).
        parameters: the access parameters as received.
        columns: the profile's capture objects, in buffer column order.
        rows: the whole buffer, oldest first, each row a structure with one element per column.
        zone: the meter's time zone, for date-times sent without deviation.
    """
    try:
        if selector == AccessSelector.RANGE:
            return _by_range(parameters, columns, rows, zone)
        if selector == AccessSelector.ENTRY:
            return _by_entry(parameters, len(columns), rows)
    except _Refused as refusal:
        return refusal.result
    return DataAccessResult.OTHER_REASON


def requested_span(
    selector: int, parameters: Data, columns: Sequence[ObjectReference], zone: tzinfo | None
) -> tuple[datetime | None, datetime | None] | None:
    """The moments a range access restricted by a clock column asks for ([from, to], None = open); else None.

    Only a hint for the meter state (it may then generate just those rows): `select` still checks and filters.
    """
    if selector != AccessSelector.RANGE:
        return None
    try:
        restricting, low, high, _ = _items(parameters, 4)
        if columns[_column(restricting, columns)].class_id != _CLOCK_CLASS:
            return None
    except _Refused:
        return None
    bounds = [decode_time(bound.value, zone) if isinstance(bound.value, bytes) else None for bound in (low, high)]
    return bounds[0], bounds[1]


def _by_range(parameters: Data, columns: Sequence[ObjectReference], rows: Sequence[Data], zone: tzinfo | None) -> Data:
    restricting, low, high, selected = _items(parameters, 4)
    column = _column(restricting, columns)
    low_key, high_key = _key(low, zone, bound=True), _key(high, zone, bound=True)
    wanted = _selected(selected, columns)
    chosen = []
    for row in rows:
        key = _key(row.items[column], zone, bound=False)
        if key is None:
            continue
        if _inside(key, low_key, high_key):
            chosen.append(_project(row, wanted))
    return array(*chosen)


def _by_entry(parameters: Data, width: int, rows: Sequence[Data]) -> Data:
    first, last, first_column, last_column = (_unsigned(item) for item in _items(parameters, 4))
    last = len(rows) if last == 0 else min(last, len(rows))
    last_column = width if last_column == 0 else last_column
    if last_column > width or first_column > last_column:
        raise _Refused(DataAccessResult.OTHER_REASON)
    wanted = list(range(max(first_column, 1) - 1, last_column))
    return array(*(_project(row, wanted) for row in rows[max(first, 1) - 1 : last]))


def _items(value: Data, count: int) -> tuple[Data, ...]:
    if value.type is not DataType.STRUCTURE or len(value.items) != count:
        raise _Refused(DataAccessResult.TYPE_UNMATCHED)
    return value.items


def _unsigned(value: Data) -> int:
    if value.type not in INTEGER_WIDTHS or not isinstance(value.value, int) or value.value < 0:
        raise _Refused(DataAccessResult.TYPE_UNMATCHED)
    return value.value


def _definition(value: Data) -> ObjectReference:
    class_id, logical_name, attribute, data_index = _items(value, 4)
    if not isinstance(logical_name.value, bytes) or len(logical_name.value) != _LOGICAL_NAME_SIZE:
        raise _Refused(DataAccessResult.TYPE_UNMATCHED)
    if attribute.type not in INTEGER_WIDTHS or not isinstance(attribute.value, int):
        raise _Refused(DataAccessResult.TYPE_UNMATCHED)
    obis = ObisCode.parse(logical_name.value)
    return ObjectReference(_unsigned(class_id), obis, attribute.value, _unsigned(data_index))


def _column(value: Data, columns: Sequence[ObjectReference]) -> int:
    reference = _definition(value)
    for index, column in enumerate(columns):
        if column == reference:
            return index
    raise _Refused(DataAccessResult.OTHER_REASON)


def _selected(value: Data, columns: Sequence[ObjectReference]) -> list[int]:
    if value.type is DataType.NULL_DATA:
        return list(range(len(columns)))
    if value.type is not DataType.ARRAY:
        raise _Refused(DataAccessResult.TYPE_UNMATCHED)
    if not value.items:
        return list(range(len(columns)))
    return [_column(item, columns) for item in value.items]


# A comparable key: (is a moment, microseconds since the epoch | the integer itself).
_Key = tuple[bool, int]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _key(value: Data, zone: tzinfo | None, *, bound: bool) -> _Key | None:
    """What a range compares: a moment for a date-time, a number for an integer; None for an open bound."""
    if value.type in (DataType.OCTET_STRING, DataType.DATE_TIME) and isinstance(value.value, bytes):
        if len(value.value) != DATE_TIME_SIZE:
            raise _Refused(DataAccessResult.TYPE_UNMATCHED)
        moment = decode_time(value.value, zone)
        if moment is None or moment.utcoffset() is None:
            return None  # wildcards: an open bound, or a row without a usable time
        return True, (moment - _EPOCH) // timedelta(microseconds=1)
    if value.type in INTEGER_WIDTHS and isinstance(value.value, int):
        return False, value.value
    if value.type is DataType.NULL_DATA and not bound:
        return None  # a row that did not capture the restricting value
    raise _Refused(DataAccessResult.TYPE_UNMATCHED)


def _inside(key: _Key, low: _Key | None, high: _Key | None) -> bool:
    for bound in (low, high):
        if bound is not None and bound[0] != key[0]:
            raise _Refused(DataAccessResult.TYPE_UNMATCHED)  # a date bound for a counter column, or the reverse
    return (low is None or low[1] <= key[1]) and (high is None or key[1] <= high[1])


def _project(row: Data, wanted: Sequence[int]) -> Data:
    items = row.items
    return structure(*(items[index] for index in wanted))
