"""Typed reads, writes and actions over a session: OBIS codes in, HES Core's own values out.

Each object's interface class comes from the meter's brand profile (hes.obis.profiles): a code the profile lacks,
or lists with a class that cannot serve the request, fails with `UnknownObject` before anything is sent. Register
values are scaled with the scaler_unit the meter reports (read once per session and cached); timestamps are UTC,
the meter's deviation applied. The functions take any `CosemAccess` (the session) and do no I/O of their own.
Profile generic reads by range live in hes.connectivity.dlms.profile_reads.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from hes.connectivity.dlms.decoding import date_time, date_time_parts, scale, scaler_unit
from hes.connectivity.dlms.encoding import date_time_octets
from hes.connectivity.dlms.errors import DataAccessError, MalformedAnswer, UnknownObject
from hes.connectivity.dlms.values import (
    ClockReading,
    CosemValue,
    DlmsData,
    GetResult,
    ObjectReference,
    RegisterReading,
)
from hes.obis.codes import ObisCode
from hes.obis.profile_types import BrandProfile, CosemObjectSpec
from hes.obis.units import unit_symbol

__all__ = [
    "CLOCK",
    "CLOCK_CLASS",
    "CLOCK_TIME",
    "REGISTER_LAYOUTS",
    "CosemAccess",
    "RegisterLayout",
    "SessionCache",
    "action",
    "local_deviation",
    "object_spec",
    "read_attribute",
    "read_clock",
    "read_raw",
    "read_registers",
    "set_clock",
    "value_of",
    "write_attribute",
]

logger = logging.getLogger(__name__)

CLOCK = ObisCode(0, 0, 1, 0, 0, 255)
CLOCK_CLASS, CLOCK_TIME = 8, 2  # clock (Blue Book 4.5.1) and its time attribute
_TIME_ZONE = 3
_MAX_DEVIATION = 720  # minutes either side of UTC (IEC 62056-6-2 4.1.6.1)
_DAYLIGHT_SAVING_ACTIVE = 0x80  # clock status bit 7
_DAYLIGHT_SAVING_MINUTES = 60


@dataclass(frozen=True, slots=True)
class RegisterLayout:
    """Where a register-like interface class keeps its value, scaler_unit, status and capture time."""

    value: tuple[int, ...]  # attributes holding the (scaled) value: current and last average for demand registers
    scaler_unit: int | None = None
    status: int | None = None
    capture_time: tuple[int, ...] = ()


# Blue Book 4.3.1-4.3.4 (habit 10: the catalogue is data).
REGISTER_LAYOUTS: Mapping[int, RegisterLayout] = {
    1: RegisterLayout(value=(2,)),  # Data
    3: RegisterLayout(value=(2,), scaler_unit=3),  # Register
    4: RegisterLayout(value=(2,), scaler_unit=3, status=4, capture_time=(5,)),  # Extended register
    5: RegisterLayout(value=(2, 3), scaler_unit=4, status=5, capture_time=(6, 7)),  # Demand register
}


@dataclass(slots=True)
class SessionCache:
    """What a session learns once and reuses: scaler_units, capture objects, capture periods, the clock's zone."""

    scalers: dict[ObisCode, tuple[int, int]] = field(default_factory=dict)
    captures: dict[ObisCode, tuple[ObjectReference, ...]] = field(default_factory=dict)
    periods: dict[ObisCode, int] = field(default_factory=dict)
    deviation: int | None = None  # the meter's, from its last clock read
    time_zone: int | None = None  # its clock's time_zone (normal time), read when a clock sent no deviation


class CosemAccess(Protocol):
    """What the typed reads need of a session."""

    @property
    def profile(self) -> BrandProfile: ...

    @property
    def cache(self) -> SessionCache: ...

    async def get_attributes(self, references: Sequence[ObjectReference]) -> list[GetResult]: ...

    async def get_timed(self, reference: ObjectReference) -> tuple[GetResult, datetime]: ...

    async def get_range(
        self, profile: ObisCode, sort: ObjectReference, start: datetime, end: datetime
    ) -> GetResult: ...

    async def set_attribute(self, reference: ObjectReference, value: DlmsData) -> None: ...

    async def invoke_method(
        self, class_id: int, obis: ObisCode, method: int, parameter: DlmsData | None = None
    ) -> CosemValue: ...


def object_spec(profile: BrandProfile, code: ObisCode, classes: frozenset[int] | None = None) -> CosemObjectSpec:
    spec = profile.find(code)
    if spec is None:
        raise UnknownObject(f"{profile.brand} profile has no object {code}")
    if classes is not None and spec.class_id not in classes:
        raise UnknownObject(f"{code} is interface class {spec.class_id} in the {profile.brand} profile")
    return spec


def value_of(result: GetResult) -> CosemValue:
    if result.error is not None:
        raise DataAccessError(result.reference.obis, result.reference.attribute, result.error)
    return result.value


async def read_raw(access: CosemAccess, reference: ObjectReference) -> CosemValue:
    """One attribute as decoded, whatever the profile says.

    Raises:
        DataAccessError: the meter refused it.
    """
    (result,) = await access.get_attributes([reference])
    return value_of(result)


async def read_attribute(access: CosemAccess, code: ObisCode, attribute: int) -> CosemValue:
    """One attribute of an object of the brand profile.

    Raises:
        UnknownObject: the profile lacks the object.
        DataAccessError: the meter refused it.
    """
    spec = object_spec(access.profile, code)
    return await read_raw(access, ObjectReference(spec.class_id, spec.obis, attribute))


async def read_clock(access: CosemAccess) -> ClockReading:
    """The meter's time (UTC, its deviation applied) and the HES's time at the middle of the round trip.

    A clock that sends its local time without deviation is placed by its time_zone (attribute 3, read once),
    one hour less when its status says daylight saving is on. The deviation found is remembered for timestamps
    read later that come without one.

    Raises:
        DataAccessError: the meter refused the read.
        MalformedAnswer: the clock's value is not a date-time naming a moment.
    """
    spec = object_spec(access.profile, CLOCK, frozenset({CLOCK_CLASS}))
    result, hes_time = await access.get_timed(ObjectReference(spec.class_id, spec.obis, CLOCK_TIME))
    value = value_of(result)
    parts = date_time_parts(value) if isinstance(value, bytes) else None
    deviation = status = None
    if parts is not None:
        _wall, deviation, status = parts
        if deviation is None:
            deviation = await _zone_deviation(access, spec.obis, status)
    moment = date_time(value, deviation)
    if moment is None:
        raise MalformedAnswer(f"clock time {value!r} is not a date-time")
    if deviation is not None:
        access.cache.deviation = deviation
    return ClockReading(moment, hes_time, deviation, status)


async def _zone_deviation(access: CosemAccess, clock: ObisCode, status: int | None) -> int | None:
    """The deviation of the meter's local time, from its clock's time_zone (read once) and daylight saving status."""
    if access.cache.time_zone is None:
        zone: CosemValue | DataAccessError
        try:
            zone = await read_raw(access, ObjectReference(CLOCK_CLASS, clock, _TIME_ZONE))
        except DataAccessError as error:
            zone = error  # logged below: without a zone the local time is taken as UTC
        if not isinstance(zone, int) or isinstance(zone, bool) or abs(zone) > _MAX_DEVIATION:
            logger.warning("clock %s sends local time without deviation and no usable time_zone (%s)", clock, zone)
            return None
        access.cache.time_zone = zone
    return local_deviation(access.cache.time_zone, status)


def local_deviation(time_zone: int, status: int | None) -> int:
    """The deviation of local time given the clock's time_zone (normal time) and a date-time's clock status.

    time_zone has the date-time deviation's sign (UTC - local, IEC 62056-6-2); daylight saving puts local time
    one hour further ahead (the Blue Book's default daylight_savings_deviation).
    """
    return time_zone - (_DAYLIGHT_SAVING_MINUTES if status is not None and status & _DAYLIGHT_SAVING_ACTIVE else 0)


async def read_registers(access: CosemAccess, codes: Sequence[ObisCode]) -> list[RegisterReading]:
    """Data (1), register (3), extended (4) and demand (5) register values, one reading per code, in order.

    Registers are scaled with their scaler_unit (read with the values when not cached) and carry its unit
    symbol; extended and demand registers also their capture time (UTC) and status. Data values and anything
    not numeric stay as the meter typed them (octet-strings as bytes, bit-strings as BitString). Everything
    goes in as few GET-with-list requests as the meter allows. A value the meter refuses, or a register whose
    scaler_unit it refuses, comes back with `error` and no value (never unscaled).

    Raises:
        UnknownObject: a code the brand profile lacks or lists with another class (before anything is sent).
    """
    specs = [object_spec(access.profile, code, frozenset(REGISTER_LAYOUTS)) for code in codes]
    references: list[ObjectReference] = []
    for spec in specs:
        layout = REGISTER_LAYOUTS[spec.class_id]
        attributes = [layout.value[0], layout.status, *layout.capture_time[:1]]
        if layout.scaler_unit is not None and spec.obis not in access.cache.scalers:
            attributes.append(layout.scaler_unit)
        references += [ObjectReference(spec.class_id, spec.obis, index) for index in attributes if index is not None]
    results = {result.reference: result for result in await access.get_attributes(references)}
    return [_register_reading(access.cache, spec, results) for spec in specs]


def _register_reading(
    cache: SessionCache, spec: CosemObjectSpec, results: dict[ObjectReference, GetResult]
) -> RegisterReading:
    layout = REGISTER_LAYOUTS[spec.class_id]

    def result_of(attribute: int | None) -> GetResult | None:
        return None if attribute is None else results.get(ObjectReference(spec.class_id, spec.obis, attribute))

    value = result_of(layout.value[0])
    assert value is not None  # read_registers asked for it
    if value.error is not None:
        return RegisterReading(spec.obis, spec.class_id, None, error=value.error)
    scaler: int | None = None
    unit: str | None = None
    if layout.scaler_unit is not None:
        known = cache.scalers.get(spec.obis)
        if known is None:
            answered = result_of(layout.scaler_unit)
            if answered is None or answered.error is not None:
                return RegisterReading(spec.obis, spec.class_id, None, error=answered.error if answered else None)
            known = scaler_unit(answered.value)
            if known is None:
                raise MalformedAnswer(f"{spec.obis} scaler_unit {answered.value!r} is not {{scaler, unit}}")
            cache.scalers[spec.obis] = known
        scaler, unit = known[0], unit_symbol(known[1])
    status = result_of(layout.status)
    captured = result_of(layout.capture_time[0] if layout.capture_time else None)
    return RegisterReading(
        spec.obis,
        spec.class_id,
        scale(value.value, scaler) if scaler is not None else value.value,
        unit,
        scaler,
        date_time(captured.value, cache.deviation) if captured is not None and captured.ok else None,
        status.value if status is not None and status.ok else None,
    )


async def set_clock(access: CosemAccess, moment: datetime, deviation: int | None = None) -> None:
    """Set the meter's clock to the aware `moment`, sent as local time with `deviation` (minutes, UTC - local).

    Without a deviation, the one the meter reported at this session's last clock read is used (else UTC), so
    a meter that takes the date-time as its local wall time still ends up right.

    Raises:
        UnknownObject: the profile has no clock.
        LocalDlmsError: a naive `moment`.
        DataAccessError: the meter refused.
    """
    spec = object_spec(access.profile, CLOCK, frozenset({CLOCK_CLASS}))
    chosen = deviation if deviation is not None else access.cache.deviation or 0
    octets = date_time_octets(moment, chosen)
    await access.set_attribute(ObjectReference(spec.class_id, spec.obis, CLOCK_TIME), DlmsData.octets(octets))


async def write_attribute(access: CosemAccess, code: ObisCode, attribute: int, value: DlmsData) -> None:
    """SET one attribute of an object of the brand profile.

    Raises:
        UnknownObject: the profile lacks the object, or lists its attributes without this one.
        DataAccessError: the meter refused.
    """
    spec = object_spec(access.profile, code)
    if attribute < 2 or (spec.attributes and spec.attribute(attribute) is None):
        raise UnknownObject(f"{code} (class {spec.class_id}) has no writable attribute {attribute} in the profile")
    await access.set_attribute(ObjectReference(spec.class_id, spec.obis, attribute), value)


async def action(access: CosemAccess, code: ObisCode, method: int, parameter: DlmsData | None = None) -> CosemValue:
    """Invoke `method` of an object of the brand profile with `parameter` (integer 0 when None).

    Raises:
        UnknownObject: the profile lacks the object, or lists its methods without this one.
        ActionError: the meter refused or failed.
    """
    spec = object_spec(access.profile, code)
    if method < 1 or (spec.methods and spec.method(method) is None):
        raise UnknownObject(f"{code} (class {spec.class_id}) has no method {method} in the profile")
    return await access.invoke_method(spec.class_id, spec.obis, method, parameter)
