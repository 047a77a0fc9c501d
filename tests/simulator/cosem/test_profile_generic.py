"""Profile generic: buffer typed column by column, capture objects, entries, reset, and gurux reading it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gurux_dlms import GXByteBuffer, GXDLMSClient, GXReplyData
from gurux_dlms.enums import Authentication, InterfaceType
from gurux_dlms.objects import GXDLMSProfileGeneric

from hes.obis import ObisCode
from hes.simulator.cosem import InMemoryMeterState, MeterObjects
from hes.simulator.dlms.apdu_services import (
    DataAccessResult,
    GetRequestNormal,
    decode_get_request,
    encode_get_response_normal,
)
from hes.simulator.dlms.date_time import decode_date_time
from hes.simulator.dlms.values import Data, DataType, double_long_unsigned, enum, integer, long_unsigned, octets
from hes.simulator.dlms.wrapper import WrapperFramer
from tests.simulator.cosem.conftest import LOAD_PROFILE_ROWS, NOW, PUBLIC, QUARTER, READING, ln

LOAD_PROFILE = ln("1-0:99.1.0.255")


def test_buffer_rows_are_typed_by_their_capture_objects(meter: MeterObjects) -> None:
    buffer = meter.get(7, LOAD_PROFILE, 2)
    assert isinstance(buffer, Data) and buffer.type is DataType.ARRAY
    assert len(buffer.items) == LOAD_PROFILE_ROWS
    first = buffer.items[0]
    assert [cell.type for cell in first.items] == [
        DataType.OCTET_STRING,
        DataType.UNSIGNED,
        *[DataType.DOUBLE_LONG_UNSIGNED] * 4,
    ]
    moment = first.items[0].value
    assert isinstance(moment, bytes) and decode_date_time(moment) == NOW - (LOAD_PROFILE_ROWS - 1) * QUARTER
    assert [cell.value for cell in first.items[2:]] == [10_000, 0, 2_000, 0]
    last = buffer.items[-1]
    assert isinstance(last.items[0].value, bytes) and decode_date_time(last.items[0].value) == NOW


def test_capture_objects_period_sort_and_entries(meter: MeterObjects) -> None:
    captured = meter.get(7, LOAD_PROFILE, 3)
    assert isinstance(captured, Data)
    assert captured.items[0] == Data(
        DataType.STRUCTURE, (long_unsigned(8), octets(ln("0-0:1.0.0.255")), integer(2), long_unsigned(0))
    )
    assert [item.items[1].value for item in captured.items[2:]] == [
        ln("1-0:1.8.0.255"),
        ln("1-0:2.8.0.255"),
        ln("1-0:3.8.0.255"),
        ln("1-0:4.8.0.255"),
    ]
    assert meter.get(7, LOAD_PROFILE, 4) == double_long_unsigned(900)
    assert meter.get(7, LOAD_PROFILE, 5) == enum(1)
    sort_object = meter.get(7, LOAD_PROFILE, 6)
    assert isinstance(sort_object, Data) and sort_object.type is DataType.STRUCTURE
    assert meter.get(7, LOAD_PROFILE, 7) == double_long_unsigned(LOAD_PROFILE_ROWS)
    assert meter.get(7, LOAD_PROFILE, 8) == double_long_unsigned(2_880)


def test_an_empty_log_reads_as_an_empty_array(meter: MeterObjects) -> None:
    assert meter.get(7, ln("0-0:99.98.0.255"), 2) == Data(DataType.ARRAY, ())
    assert meter.get(7, ln("0-0:99.98.0.255"), 7) == double_long_unsigned(0)


def test_event_log_rows(meter: MeterObjects, state: InMemoryMeterState) -> None:
    state.rows[ObisCode.parse("0-0:99.98.1.255")] = [(NOW - timedelta(hours=2), 40), (NOW, 41)]
    log = meter.get(7, ln("0-0:99.98.1.255"), 2)
    assert isinstance(log, Data)
    assert [row.items[1] for row in log.items] == [Data(DataType.UNSIGNED, 40), Data(DataType.UNSIGNED, 41)]


def test_reset_empties_the_buffer_until_new_rows(meter: MeterObjects, state: InMemoryMeterState) -> None:
    assert meter.action(7, LOAD_PROFILE, 1, integer(0)) is None
    assert meter.get(7, LOAD_PROFILE, 2) == Data(DataType.ARRAY, ())
    state.rows[ObisCode.parse("1-0:99.1.0.255")].append((NOW + QUARTER, 0, 40_000.0, 0.0, 8_000.0, 0.0))
    buffer = meter.get(7, LOAD_PROFILE, 2)
    assert isinstance(buffer, Data) and len(buffer.items) == 1
    assert meter.action(7, LOAD_PROFILE, 2, integer(0)) is None  # capture: rows come from the meter state
    assert [entry[1] for entry in state.invocations] == [1, 2]


def test_profile_entries_keeps_the_newest_rows(meter: MeterObjects) -> None:
    assert meter.set(7, LOAD_PROFILE, 8, None, double_long_unsigned(10)) is DataAccessResult.READ_WRITE_DENIED
    profile = meter.object("1-0:99.1.0.255")
    assert profile is not None
    assert profile.set(8, double_long_unsigned(10)) is DataAccessResult.SUCCESS
    assert profile.set(8, double_long_unsigned(0)) is DataAccessResult.OTHER_REASON
    buffer = meter.get(7, LOAD_PROFILE, 2)
    assert isinstance(buffer, Data) and len(buffer.items) == 10
    assert buffer.items[-1].items[2] == double_long_unsigned(10_000 + 250 * (LOAD_PROFILE_ROWS - 1))


def test_capture_period_is_written_by_management(meter: MeterObjects) -> None:
    assert meter.set(7, LOAD_PROFILE, 4, None, double_long_unsigned(1_800)) is DataAccessResult.SUCCESS
    assert meter.get(7, LOAD_PROFILE, 4) == double_long_unsigned(1_800)
    assert meter.set(7, LOAD_PROFILE, 4, None, long_unsigned(1_800)) is DataAccessResult.TYPE_UNMATCHED
    reading = meter.for_client(READING)
    assert reading.set(7, LOAD_PROFILE, 4, None, double_long_unsigned(60)) is DataAccessResult.READ_WRITE_DENIED


def test_public_client_cannot_read_the_load_profile(meter: MeterObjects) -> None:
    assert meter.for_client(PUBLIC).get(7, LOAD_PROFILE, 2) is DataAccessResult.READ_WRITE_DENIED


def test_rows_that_do_not_match_the_capture_objects_are_other_reason(
    meter: MeterObjects, state: InMemoryMeterState
) -> None:
    state.rows[ObisCode.parse("1-0:99.1.0.255")] = [(NOW, 0, 1.0)]
    assert meter.get(7, LOAD_PROFILE, 2) is DataAccessResult.OTHER_REASON


class _GuruxClient:
    """gurux-dlms's client over the wrapper, its requests answered by the object directory (no association)."""

    def __init__(self, meter: MeterObjects) -> None:
        self.meter = meter
        self.client = GXDLMSClient(True, 1, 1, Authentication.NONE, None, InterfaceType.WRAPPER)
        self.framer = WrapperFramer()

    def read(self, frames: list[bytes]) -> object:
        reply = GXReplyData()
        for frame in frames:
            request = decode_get_request(bytes(frame)[8:])  # after the 8-octet wrapper header
            assert isinstance(request, GetRequestNormal)
            reference = request.attribute
            result = self.meter.get(reference.class_id, reference.instance_id, reference.attribute_id, reference.access)
            response = self.framer.frame(1, 1, encode_get_response_normal(request.invoke_id, result))
            assert self.client.getData(GXByteBuffer(response), reply, None)
        return reply.value


def test_gurux_reads_rows_by_range_and_by_entry(meter: MeterObjects) -> None:
    gurux = _GuruxClient(meter)
    profile = GXDLMSProfileGeneric("1.0.99.1.0.255")
    gurux.client.updateValue(profile, 3, gurux.read(gurux.client.read(profile, 3)))
    assert len(profile.captureObjects) == 6
    start = datetime(2024, 5, 1, 6, 0, tzinfo=UTC)  # 07:00 at the meter (UTC+1)
    end = start + timedelta(hours=2)
    gurux.client.updateValue(profile, 2, gurux.read(gurux.client.readRowsByRange(profile, start, end)))
    assert len(profile.buffer) == 9  # 07:00, 07:15, ... 09:00 inclusive
    first, last = profile.buffer[0], profile.buffer[-1]
    assert first[0].value == start and last[0].value == end
    assert first[2] == 10_000 + 250 * 75  # the row at 07:00 is the 76th of the day
    gurux.client.updateValue(profile, 2, gurux.read(gurux.client.readRowsByEntry(profile, 2, 3)))
    assert [row[2] for row in profile.buffer] == [10_250, 10_500, 10_750]
