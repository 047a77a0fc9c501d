"""Sessions over real TCP against the simulated fleet: every transport x security, every read kind, writes and
actions, the frame counter, and a dial-in meter served over the socket it opened."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta

import pytest

from hes.connectivity.dlms import (
    ClientLimits,
    ColumnKind,
    DlmsSession,
    SessionState,
    Timeouts,
    UnknownObject,
)
from hes.connectivity.dlms.framing import Frame, WrapperFramer
from hes.obis import load_profile
from hes.obis.codes import ObisCode
from hes.simulator.dial_in import DialInFleet, DialInSettings
from hes.simulator.fleet import Authentication, Transport, fleet_from_options
from hes.simulator.server import build_meters, run_fleet
from tests.connectivity.dlms.meters import (
    ENERGY_IMPORT,
    EVENT_LOG,
    LOAD_PROFILE,
    RELAY,
    SERIAL,
    link_for,
    server_link,
)

_TIMEOUTS = Timeouts(connect=5, response=5, release=2)
_LIMITS = ClientLimits(max_receive_pdu=512)  # a day of load profile (~4 kB) then needs GET blocks
_TEST_TIMEOUT = 30.0
_QUARTER = timedelta(minutes=15)
VOLTAGE_L1, CURRENT_L1, FREQUENCY, POWER_FACTOR = (
    ObisCode.parse(code) for code in ("1-0:32.7.0.255", "1-0:31.7.0.255", "1-0:14.7.0.255", "1-0:13.7.0.255")
)
ENERGY_EXPORT, MAX_DEMAND, STATUS_WORD = (
    ObisCode.parse(code) for code in ("1-0:2.8.0.255", "1-0:1.6.0.255", "0-0:96.5.0.255")
)
RELAY_EVENTS = ObisCode.parse("0-0:99.98.2.255")
REGISTERS = [ENERGY_IMPORT, ENERGY_EXPORT, VOLTAGE_L1, CURRENT_L1, FREQUENCY, POWER_FACTOR, MAX_DEMAND, SERIAL]
REGISTERS += [STATUS_WORD]
_MATRIX = [
    pytest.param(transport, auth, id=f"{transport}-{auth}")
    for transport in Transport
    for auth in (Authentication.NONE, Authentication.LLS, Authentication.HLS_GMAC)
]


@pytest.mark.parametrize(("transport", "auth"), _MATRIX)
async def test_clock_registers_profile_events_clock_setting_and_relay(
    transport: Transport, auth: Authentication
) -> None:
    fleet = fleet_from_options(1, brand="idis", transport=transport, auth=auth, base_port=0)
    (spec,) = fleet.meters
    profile = load_profile("idis")
    async with asyncio.timeout(_TEST_TIMEOUT), run_fleet(fleet) as server:
        link = server_link(server, spec)
        async with DlmsSession.connect(link, _TIMEOUTS, limits=_LIMITS) as session:
            assert session.state.value == "associated"

            clock = await session.read_clock()
            assert clock.meter_time.tzinfo is UTC and abs(clock.drift) < timedelta(minutes=1)

            readings = {reading.obis: reading for reading in await session.read_registers(REGISTERS)}
            assert all(reading.ok for reading in readings.values())
            for code in (ENERGY_IMPORT, ENERGY_EXPORT, VOLTAGE_L1, CURRENT_L1, FREQUENCY, POWER_FACTOR):
                spec_of = profile.get(code)
                assert (readings[code].scaler, readings[code].unit) == (spec_of.scaler, spec_of.unit_symbol)
            energy = readings[ENERGY_IMPORT].value
            assert readings[ENERGY_IMPORT].unit == "Wh" and isinstance(energy, int) and 0 < energy < 10**9
            assert isinstance(voltage := readings[VOLTAGE_L1].value, float) and 180 < voltage < 260  # scaler -1
            assert isinstance(current := readings[CURRENT_L1].value, float) and 0 <= current < 100
            assert isinstance(frequency := readings[FREQUENCY].value, float) and 45 < frequency < 55
            assert isinstance(factor := readings[POWER_FACTOR].value, float) and -1 <= factor <= 1
            assert readings[SERIAL].value == spec.meter_number.encode()
            assert isinstance(readings[STATUS_WORD].value, int)
            maximum = readings[MAX_DEMAND]
            assert maximum.class_id == 4 and maximum.unit == "W" and maximum.capture_time is not None

            end = clock.meter_time
            before = session.stats.round_trips
            day = await session.read_profile(LOAD_PROFILE, end - timedelta(days=1), end)
            assert session.stats.round_trips - before >= 4  # capture objects, scaler_units, then several blocks
            assert [column.kind for column in day.columns] == [ColumnKind.TIME, ColumnKind.RAW] + [
                ColumnKind.SCALED
            ] * 4
            assert [column.unit for column in day.columns[2:]] == ["Wh", "Wh", "varh", "varh"]
            stamps = [row.timestamp for row in day.rows]
            assert 95 <= len(stamps) <= 96 and all(b - a == _QUARTER for a, b in itertools.pairwise(stamps))
            assert all(stamp.minute % 15 == 0 and end - timedelta(days=1) <= stamp <= end for stamp in stamps)
            imported = [value for row in day.rows if isinstance(value := row.values[2], int)]
            assert len(imported) == len(stamps) and imported == sorted(imported)
            assert imported[-1] <= energy
            entries = list(day.entries())
            assert len(entries) == 5 * len(stamps) and entries[1].obis == ENERGY_IMPORT and entries[1].unit == "Wh"

            await session.action(RELAY, 1)  # remote_disconnect
            assert await session.read_attribute(RELAY, 2) is False
            await session.action(RELAY, 2)  # remote_reconnect
            assert await session.read_attribute(RELAY, 2) is True
            standard = await session.read_profile(EVENT_LOG, end - timedelta(days=30), end)
            assert all(isinstance(entry.value, int) for entry in standard.entries())

            target = end.replace(microsecond=0) + timedelta(days=1, minutes=7)
            await session.set_clock(target)
            moved = await session.read_clock()
            assert abs(moved.meter_time - target) < timedelta(seconds=3)
            await session.set_clock(datetime.now(UTC))
        assert session.state is SessionState.CLOSED
        if auth is Authentication.HLS_GMAC:
            assert session.invocation_counter > link.invocation_counter


async def test_a_relay_operation_shows_in_the_disconnector_event_log_as_timestamp_and_code() -> None:
    fleet = fleet_from_options(1, brand="idis", base_port=0)
    (spec,) = fleet.meters
    async with (
        asyncio.timeout(_TEST_TIMEOUT),
        run_fleet(fleet) as server,
        DlmsSession.connect(server_link(server, spec), _TIMEOUTS, limits=_LIMITS) as session,
    ):
        start = (await session.read_clock()).meter_time - timedelta(minutes=1)
        await session.action(RELAY, 1)
        await asyncio.sleep(1.2)  # the simulated meter logs an event once its second has passed
        log = await session.read_profile(RELAY_EVENTS, start, start + timedelta(hours=1))
        await session.action(RELAY, 2)
    assert [column.kind for column in log.columns] == [ColumnKind.TIME, ColumnKind.RAW]
    events = [(entry.timestamp, entry.obis, entry.value) for entry in log.entries()]
    assert len(events) == 1
    ((stamp, obis, code),) = events
    assert start <= stamp <= start + timedelta(minutes=2)
    assert obis == ObisCode.parse("0-0:96.11.2.255") and isinstance(code, int) and code > 0


async def test_codes_the_brand_profile_lacks_fail_before_anything_is_sent() -> None:
    fleet = fleet_from_options(1, brand="hexcell", base_port=0)
    (spec,) = fleet.meters
    async with (
        asyncio.timeout(_TEST_TIMEOUT),
        run_fleet(fleet) as server,
        DlmsSession.connect(server_link(server, spec), _TIMEOUTS) as session,
    ):
        sent = session.stats.octets_sent
        with pytest.raises(UnknownObject, match=r"hexcell profile has no object 1-0:1\.4\.0\.255"):
            await session.read_registers([ENERGY_IMPORT, ObisCode.parse("1-0:1.4.0.255")])
        with pytest.raises(UnknownObject, match="interface class 3"):
            await session.read_profile(ENERGY_IMPORT, datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC))
        with pytest.raises(UnknownObject, match="no method 9"):
            await session.action(RELAY, 9)
        assert session.stats.octets_sent == sent
        (reading,) = await session.read_registers([ENERGY_IMPORT])  # the session is still good
        # Hexcell counts energy in tens of Wh (scaler 1): the value comes scaled to Wh.
        assert (reading.scaler, reading.unit) == (1, "Wh")
        assert isinstance(reading.value, int) and reading.value % 10 == 0


async def test_a_dial_in_meter_is_served_over_the_connection_it_opened_between_its_keepalive_pushes() -> None:
    fleet = fleet_from_options(1, brand="hexing", auth="hls", base_port=0)
    (spec,) = fleet.meters
    accepted: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await accepted.put((reader, writer))

    listener = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = int(listener.sockets[0].getsockname()[1])
    # The meter pushes a heartbeat after 0.2 s of quiet: between two requests, never inside one.
    settings = DialInSettings("127.0.0.1", port, keepalive_s=0.2, backoff_initial_s=0.05, backoff_max_s=0.2)
    dialers = DialInFleet(fleet, build_meters(fleet), settings)
    try:
        async with asyncio.timeout(_TEST_TIMEOUT):
            await dialers.start()
            reader, writer = await accepted.get()
            framer, frames = WrapperFramer(4096), list[Frame]()
            while not frames:  # the announcement: a DataNotification the listener would identify the meter by
                frames = framer.receive_data(await reader.read(4096))
            async with DlmsSession.over_stream(link_for(spec), reader, writer, _TIMEOUTS) as session:
                for _ in range(2):
                    assert (await session.read_registers([SERIAL]))[0].value == spec.meter_number.encode()
                    await asyncio.sleep(0.4)
                assert abs((await session.read_clock()).drift) < timedelta(minutes=1)
            assert session.state is SessionState.CLOSED
            assert session.notifications and all(frame[4:6] == b"\x00\x66" for frame in session.notifications)
    finally:
        await dialers.close()
        listener.close()
