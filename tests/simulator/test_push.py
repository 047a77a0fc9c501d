"""Push mode over real TCP: a test-side listener receives the meters' DataNotifications and decodes them with gurux."""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from gurux_dlms import GXByteBuffer, GXDateTime, GXReplyData
from gurux_dlms.enums import Authentication as GuruxAuthentication
from gurux_dlms.enums import InterfaceType, Security
from gurux_dlms.objects import GXDLMSDisconnectControl, GXDLMSRegister
from gurux_dlms.secure import GXDLMSSecureClient

from hes.obis import ObisCode, load_profile
from hes.simulator.cosem import InMemoryMeterState, MeterObjects
from hes.simulator.dlms.apdu_services import DataAccessResult
from hes.simulator.dlms.hdlc_frame import LLC_RESPONSE, FrameKind, HdlcAddress, HdlcFrameReader
from hes.simulator.dlms.notification import decode_data_notification
from hes.simulator.dlms.security import decipher_apdu
from hes.simulator.dlms.values import array, integer, long_unsigned, octets, structure
from hes.simulator.dlms.wrapper import WrapperFramer
from hes.simulator.fleet import FleetSpec, MeterSpec, Transport, fleet_from_options
from hes.simulator.meter import ObjectsForClient
from hes.simulator.push import PushRunner, PushSettings
from hes.simulator.push_messages import (
    ALARM_PUSH_SETUP,
    PUSH_CLIENT_WPORT,
    PUSH_SETUP,
    AlarmBit,
    AlarmWatch,
    PushMessages,
)
from hes.simulator.server import FleetServer, build_meters, run_fleet
from tests.simulator.gurux_peer import ENERGY_WH, NOW, GuruxPeer, StreamWire, gurux_client, tiny_objects

_WAIT = 5.0  # seconds a test waits for a push before failing instead of hanging


class PushListener:
    """The HES's push listener: every connection's octets, read to EOF, land in `frames`."""

    def __init__(self) -> None:
        self.frames: asyncio.Queue[bytes] = asyncio.Queue()
        self.server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> PushListener:
        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            async with asyncio.timeout(_WAIT):
                data = await reader.read()
            writer.close()
            await self.frames.put(data)

        self.server = await asyncio.start_server(accept, "127.0.0.1", 0)
        self.port = int(self.server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def next(self) -> bytes:
        async with asyncio.timeout(_WAIT):
            return await self.frames.get()


def push_client(spec: MeterSpec | None = None) -> GXDLMSSecureClient:
    """A gurux client set up as a push receiver (client 102, on the meter's transport), with its keys if it ciphers."""
    if spec is not None and spec.transport is Transport.HDLC:
        server, interface = GXDLMSSecureClient.getServerAddress(1, spec.physical_address), InterfaceType.HDLC
    else:
        server, interface = 1, InterfaceType.WRAPPER
    client = GXDLMSSecureClient(True, PUSH_CLIENT_WPORT, server, GuruxAuthentication.NONE, None, interface)
    if spec is not None and spec.ciphered:
        assert spec.encryption_key is not None and spec.authentication_key is not None
        client.ciphering.security = Security.AUTHENTICATION_ENCRYPTION
        client.ciphering.systemTitle = b"HES00001"
        client.ciphering.blockCipherKey = spec.encryption_key
        client.ciphering.authenticationKey = spec.authentication_key
    return client


def decode(frame: bytes, spec: MeterSpec | None = None) -> GXReplyData:
    """The DataNotification in `frame` as gurux decodes it (GXDLMSClient.getData with a notify reply)."""
    notify = GXReplyData()
    with contextlib.redirect_stdout(io.StringIO()):
        push_client(spec).getData(GXByteBuffer(frame), GXReplyData(), notify)
    assert notify.complete and not notify.isMoreData()
    return notify


@contextlib.asynccontextmanager
async def pushing(
    fleet: FleetSpec, port: int, objects: Any = None, **settings: Any
) -> AsyncIterator[tuple[FleetServer, PushRunner]]:
    """The fleet listening and pushing to `port` (push mode), stopped at the end."""
    options = {"interval_s": 3600.0, "alarm_poll_s": 0.05, **settings}  # no scheduled push unless a test asks
    async with run_fleet(fleet, objects=objects) as server:
        runner = PushRunner(fleet, list(server.meters.values()), PushSettings("127.0.0.1", port, **options))
        await runner.start()
        try:
            yield server, runner
        finally:
            await runner.close()


def _tiny(spec: MeterSpec) -> ObjectsForClient:
    return tiny_objects(spec)


async def test_the_push_carries_the_default_push_objects_of_a_meter_without_a_push_setup() -> None:
    fleet = fleet_from_options(1, brand="hexcell", base_port=0)  # Hexcell's profile has no 0-0:25.9.0.255
    (spec,) = fleet.meters
    async with PushListener() as listener, pushing(fleet, listener.port, _tiny, interval_s=0.2):
        frames = [await listener.next() for _ in range(2)]  # on schedule, again and again
    notify = decode(frames[0])
    logical_name, device_name, clock, energy = notify.value
    assert bytes(logical_name) == PUSH_SETUP.to_bytes()
    assert bytes(device_name) == b"HCX" + spec.meter_number.encode()
    assert isinstance(clock, bytes | bytearray) and energy == ENERGY_WH
    assert isinstance(notify.time, GXDateTime) and notify.time.value.replace(tzinfo=UTC) == NOW
    assert decode_data_notification(WrapperFramer().receive_data(frames[1])[0].apdu).invoke_id == 2


async def test_an_idis_meter_pushes_its_push_object_list_with_live_values() -> None:
    fleet = fleet_from_options(1, brand="idis", base_port=0)
    (spec,) = fleet.meters
    async with PushListener() as listener, pushing(fleet, listener.port, interval_s=0.2) as (server, _):
        frame = await listener.next()
        endpoint = server.endpoints[spec.meter_number]
        peer = GuruxPeer(gurux_client(spec), await StreamWire.open(endpoint.host, endpoint.port))
        await peer.associate()
        register = GXDLMSRegister("1.0.1.8.0.255")
        await peer.read(register, 3)
        read_later = await peer.read(register, 2)
    notify = decode(frame)
    logical_name, device_name, clock, energy = notify.value
    assert bytes(logical_name) == PUSH_SETUP.to_bytes() and bytes(device_name) == b"SIM" + spec.meter_number.encode()
    assert bytes(clock)[:2] == datetime.now(UTC).year.to_bytes(2, "big")  # the running clock, as 12 octets
    assert isinstance(energy, int) and 0 <= energy <= read_later  # energy only grows
    assert abs(notify.time.value.timestamp() - time.time()) < 120  # the notification's own date-time


async def test_a_relay_switched_by_the_hes_raises_an_alarm_push() -> None:
    fleet = fleet_from_options(1, brand="idis", base_port=0)
    (spec,) = fleet.meters
    async with PushListener() as listener, pushing(fleet, listener.port) as (server, runner):
        endpoint = server.endpoints[spec.meter_number]
        peer = GuruxPeer(gurux_client(spec), await StreamWire.open(endpoint.host, endpoint.port))
        await peer.associate()
        await peer.exchange(GXDLMSDisconnectControl("0.0.96.3.10.255").remoteDisconnect(peer.client))
        frame = await listener.next()
        assert runner.counters(spec.meter_number).alarms == 1
    values = decode(frame).value
    assert bytes(values[0]) == ALARM_PUSH_SETUP.to_bytes() and bytes(values[1]).endswith(spec.meter_number.encode())
    assert values[3] == AlarmBit.AUXILIARY_EVENT


async def test_a_scenario_can_raise_an_alarm_now() -> None:
    fleet = fleet_from_options(2, base_port=0)
    async with PushListener() as listener, pushing(fleet, listener.port, _tiny) as (_, runner):
        runner.raise_alarm(fleet.meters[1].meter_number, AlarmBit.FRAUD_ATTEMPT)
        values = decode(await listener.next()).value
    assert bytes(values[1]).endswith(fleet.meters[1].meter_number.encode())
    assert values[3] == AlarmBit.FRAUD_ATTEMPT == 1 << 13


async def test_an_hls_meter_ciphers_its_pushes() -> None:
    fleet = fleet_from_options(1, auth="hls", base_port=0)
    (spec,) = fleet.meters
    async with PushListener() as listener, pushing(fleet, listener.port, _tiny, interval_s=0.2):
        frame = await listener.next()
    apdu = WrapperFramer().receive_data(frame)[0].apdu
    assert apdu[0] == 0xDB  # general-glo-ciphering, the meter's system title in the clear
    assert apdu[2:10] == spec.system_title
    meter_keys = build_meters(fleet, tiny_objects)[0].clients[spec.client_sap].keys
    assert meter_keys is not None
    plain = decode_data_notification(decipher_apdu(apdu, spec.system_title, meter_keys).apdu)
    assert plain.body.items[3].value == ENERGY_WH
    assert decode(frame, spec).value[3] == ENERGY_WH  # gurux, given the keys, reads it too


async def test_an_unreachable_listener_counts_failed_pushes_and_the_meters_keep_answering() -> None:
    async with PushListener() as listener:
        port = listener.port
    fleet = fleet_from_options(1, base_port=0)
    (spec,) = fleet.meters
    async with pushing(fleet, port, _tiny, interval_s=0.05, connect_timeout_s=0.5) as (server, runner):
        async with asyncio.timeout(_WAIT):
            while runner.counters(spec.meter_number).failed < 2:
                await asyncio.sleep(0.02)
        endpoint = server.endpoints[spec.meter_number]
        peer = GuruxPeer(gurux_client(spec), await StreamWire.open(endpoint.host, endpoint.port))
        await peer.associate()
        assert (await peer.read_basics())[0] == NOW


@pytest.mark.parametrize("auth", ["none", "hls"])
async def test_an_hdlc_meter_pushes_in_ui_frames_to_the_push_client(auth: str) -> None:
    fleet = fleet_from_options(1, brand="idis", transport="hdlc", auth=auth, base_port=0)
    (spec,) = fleet.meters
    async with PushListener() as listener, pushing(fleet, listener.port, interval_s=0.2) as (server, _):
        frame = await listener.next()
        # The meter still answers on the shared HDLC port meanwhile.
        endpoint = server.endpoints[spec.meter_number]
        peer = GuruxPeer(gurux_client(spec), await StreamWire.open(endpoint.host, endpoint.port))
        await peer.associate()
        await peer.release()
    reader = HdlcFrameReader()
    reader.receive_data(frame)
    ui = reader.next_frame()
    assert ui is not None and reader.next_frame() is None  # one frame: a push fits the default information field
    assert (ui.kind, ui.poll_final, ui.segmented) == (FrameKind.UI, True, False)
    assert ui.destination == HdlcAddress(PUSH_CLIENT_WPORT)
    assert ui.source == HdlcAddress.server(1, spec.physical_address)
    assert ui.information[:3] == LLC_RESPONSE and ui.information[3] == (0xDB if auth == "hls" else 0x0F)
    logical_name, device_name, _, energy = decode(frame, spec).value  # gurux reads it as a push receiver does
    assert bytes(logical_name) == PUSH_SETUP.to_bytes() and bytes(device_name) == b"SIM" + spec.meter_number.encode()
    assert isinstance(energy, int) and energy >= 0


def test_a_long_hdlc_push_is_segmented_into_ui_frames() -> None:
    fleet = fleet_from_options(1, brand="idis", transport="hdlc", base_port=0)
    (spec,) = fleet.meters
    (meter,) = build_meters(fleet)
    # Ten serial numbers and the energy: a push longer than the default 128-octet information field.
    serial = structure(long_unsigned(1), octets(bytes((0, 0, 96, 1, 0, 255))), integer(2), long_unsigned(0))
    push_setup = structure(long_unsigned(40), octets(PUSH_SETUP.to_bytes()), integer(1), long_unsigned(0))
    listed = array(push_setup, *[serial] * 10)
    assert meter.objects(spec.client_sap).set(40, PUSH_SETUP.to_bytes(), 2, None, listed) == DataAccessResult.SUCCESS
    framed = PushMessages(meter, spec).push()
    reader = HdlcFrameReader()
    reader.receive_data(framed)
    frames = []
    while (frame := reader.next_frame()) is not None:
        frames.append(frame)
    assert len(frames) > 1 and all(frame.kind is FrameKind.UI for frame in frames)
    assert [frame.segmented for frame in frames] == [True] * (len(frames) - 1) + [False]
    information = b"".join(frame.information for frame in frames)
    body = decode_data_notification(information[len(LLC_RESPONSE) :]).body
    assert [item.value for item in body.items[1:]] == [spec.meter_number.encode()] * 10


def test_push_values_follow_the_push_object_list_a_client_wrote() -> None:
    fleet = fleet_from_options(1, brand="idis", base_port=0)
    (spec,) = fleet.meters
    (meter,) = build_meters(fleet)
    messages = PushMessages(meter, spec)
    assert len(messages.push_values().items) == 4
    serial = structure(long_unsigned(1), octets(bytes((0, 0, 96, 1, 0, 255))), integer(2), long_unsigned(0))
    push_setup = structure(long_unsigned(40), octets(PUSH_SETUP.to_bytes()), integer(1), long_unsigned(0))
    written = meter.objects(spec.client_sap).set(40, PUSH_SETUP.to_bytes(), 2, None, array(push_setup, serial))
    assert written == DataAccessResult.SUCCESS
    values = messages.push_values().items
    assert [item.value for item in values] == [PUSH_SETUP.to_bytes(), spec.meter_number.encode()]


def test_settings_refuse_what_cannot_work() -> None:
    with pytest.raises(ValueError, match="not a loopback address"):
        PushSettings("192.168.1.1", 4059)
    with pytest.raises(ValueError, match="push port 0"):
        PushSettings("127.0.0.1", 0)
    with pytest.raises(ValueError, match="positive seconds"):
        PushSettings("127.0.0.1", 4059, interval_s=0)


def test_the_alarm_watch_sees_the_relay_switch_and_the_status_word_gain_a_flag() -> None:
    state = InMemoryMeterState.of(NOW, data_values={"0-0:96.5.0.255": 0})
    objects = MeterObjects.build(load_profile("idis"), state, 1)
    watch = AlarmWatch(objects)
    assert watch.check() == AlarmBit(0)
    assert objects.action(70, bytes((0, 0, 96, 3, 10, 255)), 1, integer(0)) is None  # remote_disconnect
    assert watch.check() == AlarmBit.AUXILIARY_EVENT
    state.data_values[ObisCode.parse("0-0:96.5.0.255")] = 4  # a magnetic field
    assert watch.check() == AlarmBit.FRAUD_ATTEMPT
    state.data_values[ObisCode.parse("0-0:96.5.0.255")] = 0  # the flag clears: no alarm for that
    assert watch.check() == AlarmBit(0)
