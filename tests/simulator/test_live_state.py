"""The live meter state: COSEM objects of each brand serving the physics model's values, with an injected clock."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from gurux_dlms.objects import GXDLMSClock, GXDLMSProfileGeneric, GXDLMSRegister

from hes.obis import ObisCode, load_profile
from hes.obis.profile_types import ObjectReference
from hes.simulator.cosem import MeterObjects
from hes.simulator.cosem.conversions import capture_definition, decode_time
from hes.simulator.cosem.state import RowValue, TimeSpan
from hes.simulator.dlms.apdu_services import AccessSelection, DataAccessResult
from hes.simulator.dlms.date_time import encode_date_time
from hes.simulator.dlms.values import BitString, Data, DataType, array, integer, octets, structure
from hes.simulator.fleet import MeterSpec, fleet_from_options
from hes.simulator.live_state import History, LiveMeterState, live_state
from hes.simulator.meter import SimulatedMeter
from hes.simulator.physics import (
    INTERVAL,
    NO_DISTURBANCES,
    MeterModel,
    Outage,
    ProfileClass,
    Tamper,
    TamperKind,
)
from hes.simulator.server import run_fleet
from tests.simulator.gurux_peer import ConnectionWire, GuruxPeer, StreamWire, gurux_client

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)  # a Wednesday noon, on a quarter hour
DAY = timedelta(days=1)
BRANDS = ("idis", "hexing", "hexcell")
CLOCK, SERIAL, ENERGY = "0-0:1.0.0.255", "0-0:96.1.0.255", "1-0:1.8.0.255"
LOAD_PROFILE, DAILY, MONTHLY = "1-0:99.1.0.255", "0-0:98.2.0.255", "0-0:98.1.0.255"
RELAY = "0-0:96.3.10.255"


class FakeClock:
    """The real present as a test sets it."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def ln(text: str) -> bytes:
    return ObisCode.parse(text).to_bytes()


def _spec(brand: str, index: int = 1) -> MeterSpec:
    return fleet_from_options(index + 1, brand=brand, base_port=0).meters[index]


def _quiet_model(phases: int = 1) -> MeterModel:
    """A household meter on a quiet grid: only what a test scripts happens."""
    return MeterModel("X1", ProfileClass.RESIDENTIAL, 11, phases, 12.0, NOW - 60 * DAY, disturbances=NO_DISTURBANCES)


def _meter(brand: str, clock: FakeClock, model: MeterModel | None = None) -> tuple[LiveMeterState, MeterObjects]:
    spec, profile = _spec(brand), load_profile(brand)
    state = live_state(spec, profile, now=clock)
    if model is not None:
        state = LiveMeterState(model, profile, {ObisCode.parse(SERIAL): spec.meter_number}, now=clock)
    return state, MeterObjects.build(profile, state, spec.client_sap)


def _read(meter: MeterObjects, class_id: int, obis: str, attribute: int = 2) -> Data:
    value = meter.get(class_id, ln(obis), attribute)
    assert isinstance(value, Data), f"{obis}/{attribute}: {value!r}"
    return value


def _int(cell: Data) -> int:
    assert isinstance(cell.value, int)
    return cell.value


def _raw(meter: MeterObjects, obis: str, class_id: int = 3) -> int:
    return _int(_read(meter, class_id, obis))


def _by_range(meter: MeterObjects, obis: str, start: datetime, end: datetime) -> list[tuple[Data, ...]]:
    restricting = capture_definition(8, ln(CLOCK), 2, 0)
    parameters = structure(restricting, octets(encode_date_time(start, 0)), octets(encode_date_time(end, 0)), array())
    rows = meter.get(7, ln(obis), 2, AccessSelection(1, parameters))
    assert isinstance(rows, Data), rows
    return [row.items for row in rows.items]


def _moment(cell: Data) -> datetime | None:
    assert isinstance(cell.value, bytes)
    return decode_time(cell.value, UTC)


def _column(meter: MeterObjects, profile: str, obis: str, attribute: int = 2) -> int:
    target = meter.object(profile)
    assert target is not None
    references = target.spec.capture_objects
    return next(i for i, ref in enumerate(references) if str(ref.obis) == obis and ref.attribute == attribute)


@pytest.mark.parametrize("brand", BRANDS)
def test_energy_read_15_minutes_apart_grows_by_the_load_profile_interval(brand: str) -> None:
    clock = FakeClock()
    state, meter = _meter(brand, clock, _quiet_model())
    before = _raw(meter, ENERGY)
    clock.now += INTERVAL
    after = _raw(meter, ENERGY)

    rows = _by_range(meter, LOAD_PROFILE, NOW, NOW + INTERVAL)
    energy = _column(meter, LOAD_PROFILE, ENERGY)
    assert [_moment(row[0]) for row in rows] == [NOW, NOW + INTERVAL]
    assert [row[energy].value for row in rows] == [before, after]
    interval_wh = state.model.interval(NOW).active_import_wh
    assert interval_wh > 0
    scaler = 10 ** (state.profile.get(ENERGY).scaler or 0)  # Hexcell counts 10 Wh steps
    assert after - before == (state.model.registers(NOW + INTERVAL).active_import_wh // scaler) - (
        state.model.registers(NOW).active_import_wh // scaler
    )
    if scaler == 1:
        assert after - before == interval_wh


@pytest.mark.parametrize("brand", ["idis", "hexcell"])
def test_a_day_of_load_profile_by_range_is_96_rows_consistent_with_the_registers(brand: str) -> None:
    clock = FakeClock()
    state, meter = _meter(brand, clock)
    day = NOW.replace(hour=0) - DAY
    rows = _by_range(meter, LOAD_PROFILE, day + INTERVAL, day + DAY)

    assert len(rows) == 96
    assert [_moment(row[0]) for row in rows] == [day + (n + 1) * INTERVAL for n in range(96)]  # interval ends
    energy = _column(meter, LOAD_PROFILE, ENERGY)
    scaler = 10 ** (state.profile.get(ENERGY).scaler or 0)
    registers = [state.model.registers(day + (n + 1) * INTERVAL).active_import_wh // scaler for n in range(96)]
    assert [row[energy].value for row in rows] == registers
    # The last row is what the register read at midnight, and what the daily billing profile captured.
    clock.now = day + DAY
    assert rows[-1][energy].value == _raw(meter, ENERGY)
    if brand == "idis":
        daily = _by_range(meter, DAILY, day + DAY, day + DAY)
        assert len(daily) == 1 and daily[0][_column(meter, DAILY, ENERGY)].value == rows[-1][energy].value
        records = state.model.intervals(day, day + DAY)
        steps = [_int(b[energy]) - _int(a[energy]) for a, b in pairwise(rows)]
        assert steps == [record.active_import_wh for record in records[1:]]


async def test_gurux_reads_the_load_profile_by_range_through_the_sans_io_meter() -> None:
    clock = FakeClock()
    spec = _spec("idis")
    profile = load_profile("idis")
    state = live_state(spec, profile, now=clock)
    objects = MeterObjects.build(profile, state, spec.client_sap)
    meter = SimulatedMeter.from_spec(spec, objects.for_client)
    peer = GuruxPeer(gurux_client(spec), ConnectionWire(meter.wrapper_connection()))
    await peer.associate()

    register = GXDLMSRegister("1.0.1.8.0.255")
    await peer.read(register, 3)
    await peer.read(register, 2)
    pg = GXDLMSProfileGeneric("1.0.99.1.0.255")
    await peer.read(pg, 3)
    day = NOW.replace(hour=0) - DAY
    reply = await peer.exchange(peer.client.readRowsByRange(pg, day + INTERVAL, day + DAY))  # in several blocks
    peer.client.updateValue(pg, 2, reply.value)
    await peer.release()

    assert len(pg.buffer) == 96
    assert pg.buffer[0][0].value == day + INTERVAL and pg.buffer[-1][0].value == day + DAY
    assert [row[2] for row in pg.buffer] == [
        state.model.registers(day + (n + 1) * INTERVAL).active_import_wh for n in range(96)
    ]
    assert register.value == state.model.registers(NOW).active_import_wh


@pytest.mark.parametrize(("brand", "relay_off_log"), [("idis", "0-0:99.98.2.255"), ("hexcell", "1-0:99.98.46.255")])
def test_remote_disconnect_stops_consumption_and_logs_it(brand: str, relay_off_log: str) -> None:
    clock = FakeClock()
    state, meter = _meter(brand, clock, _quiet_model())
    assert meter.action(70, ln(RELAY), 1, integer(0)) is None  # remote_disconnect: success
    assert _read(meter, 70, RELAY, 2).value is False and _read(meter, 70, RELAY, 3).value == 0

    clock.now = NOW + timedelta(hours=1)
    rows = _by_range(meter, LOAD_PROFILE, NOW, clock.now)
    energy = _column(meter, LOAD_PROFILE, ENERGY)
    assert len(rows) == 5 and len({row[energy].value for row in rows}) == 1  # no energy after the disconnect
    assert all(record.active_import_wh == 0 for record in state.model.intervals(NOW, clock.now))
    assert _raw(meter, "1-0:31.7.0.255") == 0 and state.model.instantaneous(clock.now).current_a == (0.0,)
    log = _by_range(meter, relay_off_log, NOW, clock.now)
    assert [_moment(row[0]) for row in log] == [NOW]
    if brand == "idis":
        assert [row[1].value for row in log] == [62] and _read(meter, 1, "0-0:96.11.2.255").value == 62

    assert meter.action(70, ln(RELAY), 2, integer(0)) is None  # remote_reconnect: consumption resumes
    clock.now += timedelta(hours=1)
    assert state.model.intervals(clock.now - timedelta(hours=1), clock.now)[-1].active_import_wh > 0
    assert _raw(meter, ENERGY) > _int(rows[-1][energy])


@pytest.mark.parametrize("brand", BRANDS)
def test_each_brand_answers_clock_serial_energy_and_load_profile(brand: str) -> None:
    clock = FakeClock(NOW + timedelta(seconds=7))
    state, meter = _meter(brand, clock)
    assert _moment(_read(meter, 8, CLOCK)) == clock.now
    assert _read(meter, 1, SERIAL).value == _spec(brand).meter_number.encode()
    scaler, unit = _read(meter, 3, ENERGY, 3).items
    step = 10 ** _int(scaler)
    assert unit.value == 30 and _raw(meter, ENERGY) == state.model.registers(clock.now).active_import_wh // step
    rows = _by_range(meter, LOAD_PROFILE, NOW - timedelta(hours=2), NOW)
    assert [_moment(row[0]) for row in rows] == [NOW - n * INTERVAL for n in range(8, -1, -1)]


@pytest.mark.parametrize("brand", BRANDS)
def test_every_object_of_every_brand_answers_without_error(brand: str) -> None:
    spec, profile = _spec(brand), load_profile(brand)
    state = live_state(spec, profile, now=FakeClock(), history=History(load_profile=2 * DAY))
    meter = MeterObjects.build(profile, state, spec.client_sap)
    for target in profile:
        for attribute in target.attributes:
            answer = meter.get(target.class_id, target.obis.to_bytes(), attribute.index)
            assert isinstance(answer, Data | DataAccessResult)
            assert answer is not DataAccessResult.OTHER_REASON, (target.obis, attribute.index)


def test_hexcell_credit_and_token_objects_keep_answering() -> None:
    clock = FakeClock()
    _, meter = _meter("hexcell", clock)
    for obis in ("0-0:96.67.0.255", "1-0:96.66.0.255", "1-0:96.68.0.255"):
        assert _raw(meter, obis) == 0  # credit is not modelled: the profile's default
    assert meter.set(1, ln("1-0:129.129.2.255"), 2, None, octets(b"0123456789")) is DataAccessResult.SUCCESS  # token
    assert isinstance(meter.get(1, ln("0-0:96.96.1.255"), 2), Data | DataAccessResult)
    assert _read(meter, 7, "1-0:99.98.84.255") == array()  # the credit token log: the model writes nothing to it


def test_tamper_status_word_and_fraud_logs() -> None:
    clock = FakeClock()
    model = _quiet_model()
    model.add_scenario(Tamper(TamperKind.METER_COVER, NOW + INTERVAL, NOW + 3 * INTERVAL), NOW)
    clock.now = NOW + 2 * INTERVAL
    _, hexcell = _meter("hexcell", clock, model)
    _, idis = _meter("idis", clock, model)
    assert _read(hexcell, 1, "0-0:96.5.0.255") == Data(DataType.BIT_STRING, BitString(8, b"\x80"))  # first bit
    assert _read(idis, 1, "0-0:96.5.0.255").value == 1

    clock.now = NOW + DAY
    assert _read(idis, 1, "0-0:96.5.0.255").value == 0
    fraud = _by_range(idis, "0-0:99.98.1.255", NOW, clock.now)
    assert [(_moment(row[0]), row[1].value) for row in fraud] == [(NOW + INTERVAL, 44), (NOW + 3 * INTERVAL, 45)]
    cover = _by_range(hexcell, "1-0:99.98.42.255", NOW, clock.now)  # one spell: opened and closed
    assert [(_moment(row[0]), _moment(row[1])) for row in cover] == [(NOW + INTERVAL, NOW + 3 * INTERVAL)]


def test_a_power_failure_is_logged_and_flagged_in_the_load_profile() -> None:
    clock = FakeClock(NOW + DAY)
    model = _quiet_model()
    down, up = NOW + timedelta(minutes=20), NOW + timedelta(minutes=50)
    model.add_scenario(Outage(down, up), NOW)
    _, idis = _meter("idis", clock, model)
    _, hexcell = _meter("hexcell", clock, model)

    standard = _by_range(idis, "0-0:99.98.0.255", NOW, clock.now)
    assert [(_moment(row[0]), row[1].value) for row in standard] == [(down, 1), (up, 2)]
    failures = _by_range(idis, "0-0:99.97.0.255", NOW, clock.now)
    assert [(_moment(row[0]), row[1].value) for row in failures] == [(up, 30 * 60)]  # end, duration in s
    power_off = _by_range(hexcell, "1-0:99.98.34.255", NOW, clock.now)
    assert [(_moment(row[0]), _moment(row[1])) for row in power_off] == [(down, up)]
    status = [row[1].value for row in _by_range(idis, LOAD_PROFILE, NOW + INTERVAL, NOW + 5 * INTERVAL)]
    assert status == [0, 0x80, 0x80, 0x80, 0]  # the intervals ending 12:30, 12:45 and 13:00 saw it
    assert _read(idis, 1, "0-0:96.7.21.255").value == 1 and _raw(idis, "0-0:96.7.19.255") == 30 * 60


def test_billing_profiles_and_hexcell_last_month_registers() -> None:
    clock = FakeClock()
    state, idis = _meter("idis", clock)
    _, hexcell = _meter("hexcell", clock)
    first = datetime(2026, 6, 1, tzinfo=UTC)
    monthly = _by_range(idis, MONTHLY, first - 40 * DAY, NOW)
    assert [_moment(row[0]) for row in monthly] == [datetime(2026, 5, 1, tzinfo=UTC), first]
    assert monthly[-1][1].value == state.model.monthly_snapshot(2026, 6).active_import_wh
    assert monthly[-1][2].value == state.model.monthly_snapshot(2026, 6).active_import_by_rate_wh[0]
    daily = _by_range(idis, DAILY, NOW - 3 * DAY, NOW)
    assert [_moment(row[0]) for row in daily] == [first + (n + 7) * DAY for n in range(3)]
    assert _raw(hexcell, "1-0:1.8.0.1") == state.model.monthly_snapshot(2026, 6).active_import_wh // 10
    assert _raw(hexcell, "1-0:1.8.0.2") == state.model.monthly_snapshot(2026, 5).active_import_wh // 10


def test_maximum_demand_is_the_months_highest_interval() -> None:
    clock = FakeClock()
    state, meter = _meter("idis", clock, _quiet_model())
    month = state.model.intervals(datetime(2026, 6, 1, tzinfo=UTC), NOW)
    highest = max(month, key=lambda record: record.active_import_wh)
    assert _raw(meter, "1-0:1.6.0.255", class_id=4) == highest.active_import_wh * 4
    billing = _by_range(meter, MONTHLY, NOW - 10 * DAY, NOW)[-1]  # June 1st: May's maximum and when
    may = state.model.intervals(datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC))
    top = max(may, key=lambda record: record.active_import_wh)
    assert (billing[-2].value, _moment(billing[-1])) == (top.active_import_wh * 4, top.end)


def test_setting_the_clock_moves_only_the_clock() -> None:
    clock = FakeClock()
    state, meter = _meter("idis", clock)
    energy = _raw(meter, ENERGY)
    set_to = NOW + timedelta(minutes=5)
    assert meter.set(8, ln(CLOCK), 2, None, octets(encode_date_time(set_to, 0))) is DataAccessResult.SUCCESS
    assert _moment(_read(meter, 8, CLOCK)) == set_to and state.clock() == set_to
    assert _raw(meter, ENERGY) == energy  # the physics keeps to the real present


def test_rows_are_generated_only_for_the_span_and_the_buffer_depth() -> None:
    clock = FakeClock()
    state, meter = _meter("idis", clock)
    target = meter.object(LOAD_PROFILE)
    assert target is not None
    columns = target.spec.capture_objects
    lp = ObisCode.parse(LOAD_PROFILE)
    assert len(state.profile_rows(lp, columns, (NOW - timedelta(hours=1), NOW))) == 5
    assert len(state.profile_rows(lp, columns)) == History().load_profile // INTERVAL  # 35 days, generated now
    daily = meter.object(DAILY)
    assert daily is not None
    assert len(state.profile_rows(daily.obis, daily.spec.capture_objects)) == History().daily_billing // DAY
    assert state.profile_rows(lp, columns, (NOW - 60 * DAY, NOW - 50 * DAY)) == []  # rolled out of the buffer
    assert state.profile_rows(lp, columns, (NOW + DAY, None)) == []  # the future is not there yet


async def test_a_fleet_meter_over_tcp_serves_the_live_model() -> None:
    fleet = fleet_from_options(1, brand="idis", base_port=0)
    (spec,) = fleet.meters
    async with run_fleet(fleet) as server:
        endpoint = server.endpoints[spec.meter_number]
        peer = GuruxPeer(gurux_client(spec), await StreamWire.open(endpoint.host, endpoint.port))
        await peer.associate()
        clock, register, pg = GXDLMSClock("0.0.1.0.0.255"), GXDLMSRegister("1.0.1.8.0.255"), GXDLMSProfileGeneric()
        await peer.read(clock, 2)
        await peer.read(register, 3)
        await peer.read(register, 2)
        pg.logicalName = "1.0.99.1.0.255"
        await peer.read(pg, 3)
        end = clock.time.value.replace(tzinfo=UTC)
        reply = await peer.exchange(peer.client.readRowsByRange(pg, end - timedelta(hours=2), end))
        peer.client.updateValue(pg, 2, reply.value)
        await peer.release()
    assert abs(end.timestamp() - time.time()) < 120
    assert len(pg.buffer) in (8, 9)  # every quarter hour of the last two hours, stamped at its end
    readings = [row[2] for row in pg.buffer]
    assert readings == sorted(readings) and 0 < readings[-1] <= register.value


class _RecordingState(LiveMeterState):
    """A live state that remembers the spans its profile rows were asked for."""

    spans: list[TimeSpan | None]

    def profile_rows(
        self, obis: ObisCode, columns: Sequence[ObjectReference], span: TimeSpan | None = None
    ) -> Sequence[Sequence[RowValue]]:
        self.spans.append(span)
        return super().profile_rows(obis, columns, span)


def test_a_range_read_asks_the_state_only_for_its_span() -> None:
    profile = load_profile("idis")
    state = _RecordingState(_quiet_model(), profile, now=FakeClock())
    state.spans = []
    meter = MeterObjects.build(profile, state, 1)
    start = NOW - timedelta(hours=3)
    assert len(_by_range(meter, LOAD_PROFILE, start, NOW)) == 13
    assert state.spans == [(start, NOW)]
    assert len(_read(meter, 7, LOAD_PROFILE).items) == 2880  # a whole read: the profile's 30 days of entries
    assert state.spans[-1] is None
