"""Timestamps a simulated meter never sends: local time without deviation, and IDIS compressed rows (null time).

The simulator always sends its UTC time with deviation 0, so these cases use `RecordedMeter`, a stand-in that
answers attribute reads from a table, in place of the meter the simulator cannot be (the one mock these tests use).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from hes.connectivity.dlms import reads
from hes.connectivity.dlms.profile_reads import read_profile
from hes.connectivity.dlms.reads import SessionCache
from hes.connectivity.dlms.values import ColumnKind, CosemValue, DlmsData, GetResult, ObjectReference
from hes.obis import BrandProfile, load_profile
from hes.obis.codes import ObisCode
from tests.connectivity.dlms.meters import CLOCK, LOAD_PROFILE

STATUS, IMPORT = ObisCode.parse("0-0:96.10.1.255"), ObisCode.parse("1-0:1.8.0.255")
EXPORT, R_IMPORT, R_EXPORT = (ObisCode.parse(f"1-0:{c}.8.0.255") for c in (2, 3, 4))
WALL = datetime(2024, 5, 6, 7, 0)  # the meter's local wall time
DST_ON = 0x80


def _local(moment: datetime, status: int = DST_ON) -> bytes:
    """A date-time in local time, deviation not specified (0x8000)."""
    return moment.year.to_bytes(2, "big") + bytes(
        (moment.month, moment.day, 0xFF, moment.hour, moment.minute, moment.second, 0, 0x80, 0x00, status)
    )


class RecordedMeter:
    """Answers GETs from a table of attribute values; serves the idis profile's objects."""

    def __init__(self, values: dict[ObjectReference, CosemValue], rows: CosemValue) -> None:
        self.values = values
        self.rows = rows
        self.cache = SessionCache()
        self.reads: list[ObjectReference] = []

    @property
    def profile(self) -> BrandProfile:
        return load_profile("idis")

    async def get_attributes(self, references: Sequence[ObjectReference]) -> list[GetResult]:
        self.reads += references
        return [GetResult(reference, self.values[reference]) for reference in references]

    async def get_timed(self, reference: ObjectReference) -> tuple[GetResult, datetime]:
        (result,) = await self.get_attributes([reference])
        return result, datetime(2024, 5, 6, 5, 0, tzinfo=UTC)

    async def get_range(self, profile: ObisCode, sort: ObjectReference, start: datetime, end: datetime) -> GetResult:
        return GetResult(ObjectReference(7, profile, 2), self.rows)

    async def set_attribute(self, reference: ObjectReference, value: DlmsData) -> None:
        raise AssertionError("no SET expected")

    async def invoke_method(
        self, class_id: int, obis: ObisCode, method: int, parameter: DlmsData | None = None
    ) -> CosemValue:
        raise AssertionError("no ACTION expected")


def _capture(class_id: int, obis: ObisCode) -> CosemValue:
    return (class_id, obis.to_bytes(), 2, 0)


CAPTURE = (
    _capture(8, CLOCK),
    _capture(1, STATUS),
    *(_capture(3, code) for code in (IMPORT, EXPORT, R_IMPORT, R_EXPORT)),
)
METER_VALUES: dict[ObjectReference, CosemValue] = {
    ObjectReference(8, CLOCK, 2): _local(WALL),
    ObjectReference(8, CLOCK, 3): -60,  # time_zone: UTC+1 (normal time), with the date-time deviation's sign
    ObjectReference(7, LOAD_PROFILE, 3): CAPTURE,
    ObjectReference(7, LOAD_PROFILE, 4): 900,
    **{ObjectReference(3, code, 3): (-3, 30) for code in (IMPORT, EXPORT)},
    **{ObjectReference(3, code, 3): (0, 32) for code in (R_IMPORT, R_EXPORT)},
}


async def test_a_clock_without_deviation_is_placed_by_its_time_zone_and_daylight_saving() -> None:
    meter = RecordedMeter(METER_VALUES, ())
    clock = await reads.read_clock(meter)
    # 07:00 local in summer time of UTC+1 is 05:00 UTC.
    assert clock.meter_time == datetime(2024, 5, 6, 5, 0, tzinfo=UTC) and clock.deviation == -120
    assert clock.status == DST_ON and meter.cache.deviation == -120


async def test_rows_in_local_time_learn_the_zone_and_null_times_follow_the_capture_period() -> None:
    rows = (
        (_local(WALL), 0, 1000, 0, 7, 0),
        (None, 8, 1250, 0, 9, 0),  # IDIS compressed: the time is the previous one plus the capture period
        (None, 0, 1500, 0, 11, 0),
        (_local(datetime(2024, 1, 6, 7, 0), status=0), 0, 0, 0, 0, 0),  # a winter row: UTC+1 without DST
    )
    meter = RecordedMeter(METER_VALUES, rows)
    end = datetime(2024, 5, 6, 6, 0, tzinfo=UTC)
    reading = await read_profile(meter, LOAD_PROFILE, end - timedelta(hours=1), end)
    assert [row.timestamp for row in reading.rows] == [
        datetime(2024, 5, 6, 5, 0, tzinfo=UTC),
        datetime(2024, 5, 6, 5, 15, tzinfo=UTC),
        datetime(2024, 5, 6, 5, 30, tzinfo=UTC),
        datetime(2024, 1, 6, 6, 0, tzinfo=UTC),
    ]
    assert [column.kind for column in reading.columns][:3] == [ColumnKind.TIME, ColumnKind.RAW, ColumnKind.SCALED]
    assert [row.values[1:3] for row in reading.rows][:3] == [(0, 1.0), (8, 1.25), (0, 1.5)]  # raw status, scaled Wh
    assert [column.unit for column in reading.columns[2:]] == ["Wh", "Wh", "varh", "varh"]
    assert ObjectReference(8, CLOCK, 3) in meter.reads and ObjectReference(7, LOAD_PROFILE, 4) in meter.reads


async def test_a_range_without_rows_is_empty() -> None:
    meter = RecordedMeter(METER_VALUES, None)  # gurux gives None for an empty array
    end = datetime(2024, 5, 6, 6, 0, tzinfo=UTC)
    assert (await read_profile(meter, LOAD_PROFILE, end - timedelta(hours=1), end)).rows == ()
