"""Dial-in mode over real TCP: a test-side server plays the HES; the meters dial it, announce themselves, and answer
a gurux client on the socket they opened; they reconnect after a drop and keep the line alive."""

from __future__ import annotations

import asyncio
import contextlib
import io
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from gurux_dlms import GXByteBuffer, GXReplyData
from gurux_dlms.enums import Authentication as GuruxAuthentication
from gurux_dlms.enums import InterfaceType, Security
from gurux_dlms.secure import GXDLMSSecureClient

from hes.simulator.dial_in import DialInFleet, DialInSettings
from hes.simulator.dlms.hdlc_frame import FrameKind, HdlcAddress, HdlcFrameReader
from hes.simulator.dlms.wrapper import WrapperFramer
from hes.simulator.faults import Fault, FaultKind
from hes.simulator.fleet import (
    Authentication,
    FleetSpec,
    MeterGroup,
    MeterSpec,
    Transport,
    build_fleet,
    fleet_from_options,
)
from hes.simulator.push_messages import PUSH_CLIENT_WPORT, PUSH_SETUP
from hes.simulator.server import ServerLimits, build_meters, fault_table
from tests.simulator.gurux_peer import CLIENT_TITLE, ENERGY_WH, NOW, GuruxPeer, StreamWire, gurux_client, tiny_objects

_WAIT = 5.0  # seconds a test waits for the meters before failing instead of hanging

Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class FakeHes:
    """A listening socket standing in for the HES: each connection a meter opens lands in `connections`."""

    def __init__(self) -> None:
        self.connections: asyncio.Queue[Streams] = asyncio.Queue()
        self.server: asyncio.Server | None = None

    async def start(self, port: int = 0) -> int:
        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await self.connections.put((reader, writer))

        self.server = await asyncio.start_server(accept, "127.0.0.1", port)
        return int(self.server.sockets[0].getsockname()[1])

    async def next(self) -> Streams:
        async with asyncio.timeout(_WAIT):
            return await self.connections.get()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


@contextlib.asynccontextmanager
async def dialling(fleet: FleetSpec, settings: DialInSettings, **options: Any) -> AsyncIterator[DialInFleet]:
    """The fleet's meters dialling (with TinyObjects), hung up at the end."""
    dialers = DialInFleet(fleet, build_meters(fleet, tiny_objects), settings, faults=fault_table(fleet), **options)
    await dialers.start()
    try:
        yield dialers
    finally:
        await dialers.close()


def push_receiver(spec: MeterSpec) -> GXDLMSSecureClient:
    """A gurux HDLC client as the push receiver 102, with the meter's keys when it ciphers its pushes."""
    server = GXDLMSSecureClient.getServerAddress(1, spec.physical_address)
    client = GXDLMSSecureClient(True, PUSH_CLIENT_WPORT, server, GuruxAuthentication.NONE, None, InterfaceType.HDLC)
    if spec.ciphered:
        assert spec.encryption_key is not None and spec.authentication_key is not None
        client.ciphering.security = Security.AUTHENTICATION_ENCRYPTION
        client.ciphering.systemTitle = CLIENT_TITLE
        client.ciphering.blockCipherKey = spec.encryption_key
        client.ciphering.authenticationKey = spec.authentication_key
    return client


def _settings(port: int, **options: Any) -> DialInSettings:
    fast = {"backoff_initial_s": 0.05, "backoff_max_s": 0.2, "keepalive_s": 0.0, **options}
    return DialInSettings("127.0.0.1", port, **fast)


async def _announcement(reader: asyncio.StreamReader) -> list[Any]:
    """Read the meter's first frame and decode it with gurux as a push listener would: the notification body."""
    client = gurux_client(fleet_from_options(1).meters[0])
    received, reply, notify = b"", GXReplyData(), GXReplyData()
    while not notify.complete:
        async with asyncio.timeout(_WAIT):
            chunk = await reader.read(4096)
        assert chunk, "the meter hung up before announcing itself"
        received += chunk
        notify = GXReplyData()
        with contextlib.redirect_stdout(io.StringIO()):
            client.getData(GXByteBuffer(received), reply, notify)
    frame = WrapperFramer().receive_data(received)[0]
    assert (frame.source_wport, frame.destination_wport) == (1, PUSH_CLIENT_WPORT)
    assert frame.apdu[0] == 0x0F  # a DataNotification
    return list(notify.value)


async def test_a_meter_dials_announces_itself_and_answers_the_hes_on_that_socket() -> None:
    hes = FakeHes()
    port = await hes.start()
    fleet = fleet_from_options(2, brand="hexing", auth="lls", base_port=0)
    by_name = {meter.brand_info.flag_id + meter.meter_number.encode(): meter for meter in fleet.meters}
    try:
        async with dialling(fleet, _settings(port)) as dialers:
            for _ in range(2):
                reader, writer = await hes.next()
                body = await _announcement(reader)
                assert bytes(body[0]) == PUSH_SETUP.to_bytes()  # the push "on connectivity"
                spec = by_name.pop(bytes(body[1]))  # the logical device name: FLAG id + meter number
                assert bytes(body[2])[:2] == NOW.year.to_bytes(2, "big") and body[3] == ENERGY_WH
                peer = GuruxPeer(gurux_client(spec), StreamWire(reader, writer))
                await peer.associate()
                assert await peer.read_basics() == (NOW, ENERGY_WH / 1000, spec.meter_number)
                await peer.release()
            assert not by_name
            assert all(counters.connections == 1 for counters in dialers.counters.values())
    finally:
        await hes.stop()


@pytest.mark.parametrize("auth", ["lls", "hls"])
async def test_an_hdlc_meter_dials_announces_itself_in_a_ui_frame_and_answers_hdlc(auth: str) -> None:
    hes = FakeHes()
    port = await hes.start()
    fleet = fleet_from_options(1, brand="hexing", transport="hdlc", auth=auth, base_port=0)
    (spec,) = fleet.meters
    try:
        async with dialling(fleet, _settings(port)) as dialers:
            reader, writer = await hes.next()
            async with asyncio.timeout(_WAIT):
                received = await reader.read(4096)
            frames = HdlcFrameReader()
            frames.receive_data(received)
            announcement = frames.next_frame()
            assert announcement is not None and announcement.kind is FrameKind.UI
            assert announcement.source == HdlcAddress.server(1, spec.physical_address)
            assert announcement.destination == HdlcAddress(PUSH_CLIENT_WPORT)
            notify = GXReplyData()
            with contextlib.redirect_stdout(io.StringIO()):
                push_receiver(spec).getData(GXByteBuffer(received), GXReplyData(), notify)
            assert bytes(notify.value[1]) == b"HXE" + spec.meter_number.encode()
            # Then the HES is the HDLC client on that socket: SNRM/UA, AARQ, GETs, RLRQ, DISC.
            peer = GuruxPeer(gurux_client(spec), StreamWire(reader, writer))
            await peer.associate()
            assert await peer.read_basics() == (NOW, ENERGY_WH / 1000, spec.meter_number)
            await peer.release()
            assert dialers.counters[spec.meter_number].connections == 1
    finally:
        await hes.stop()


async def test_a_meter_dials_again_after_the_hes_drops_the_connection() -> None:
    hes = FakeHes()
    port = await hes.start()
    fleet = fleet_from_options(1, base_port=0)
    (spec,) = fleet.meters
    try:
        async with dialling(fleet, _settings(port)) as dialers:
            reader, writer = await hes.next()
            await _announcement(reader)
            writer.close()  # the HES kills the socket
            reader, writer = await hes.next()  # ... and the meter is back, announcing itself again
            assert bytes((await _announcement(reader))[1]).endswith(spec.meter_number.encode())
            peer = GuruxPeer(gurux_client(spec), StreamWire(reader, writer))
            await peer.associate()
            assert (await peer.read_basics())[0] == NOW
            assert dialers.counters[spec.meter_number].connections == 2
    finally:
        await hes.stop()


async def test_a_meter_keeps_dialling_with_backoff_until_the_hes_listens() -> None:
    with socket.socket() as probe:  # a port nobody listens on (yet)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    fleet = fleet_from_options(1, base_port=0)
    hes = FakeHes()
    async with dialling(fleet, _settings(port)) as dialers:
        counters = dialers.counters[fleet.meters[0].meter_number]
        async with asyncio.timeout(_WAIT):
            while counters.failures < 3:
                await asyncio.sleep(0.02)
        await hes.start(port)
        try:
            reader, _ = await hes.next()
            await _announcement(reader)
            assert counters.connections == 1 and counters.attempts == counters.failures + 1
        finally:
            await hes.stop()


async def test_a_quiet_line_gets_a_keepalive_and_a_silent_hes_is_hung_up_on() -> None:
    hes = FakeHes()
    port = await hes.start()
    fleet = fleet_from_options(1, base_port=0)
    limits = ServerLimits(inactivity_timeout=0.8)
    try:
        async with dialling(fleet, _settings(port, keepalive_s=0.2), limits=limits) as dialers:
            reader, _ = await hes.next()
            first = await _announcement(reader)
            heartbeat = await _announcement(reader)  # nothing was said for 0.2 s: the push again
            assert heartbeat[:2] == first[:2]
            reader, _ = await hes.next()  # the HES never spoke: the meter hung up and dialled again
            await _announcement(reader)
            assert dialers.counters[fleet.meters[0].meter_number].connections == 2
    finally:
        await hes.stop()


async def test_faults_apply_on_a_dialled_connection_too() -> None:
    hes = FakeHes()
    port = await hes.start()
    groups = [MeterGroup(1, "hexing", Transport.WRAPPER, Authentication.NONE, (Fault(FaultKind.NO_ANSWER),))]
    fleet = build_fleet(groups, seed=2, base_port=0)
    try:
        async with dialling(fleet, _settings(port)):
            reader, writer = await hes.next()
            await _announcement(reader)  # the meter announces itself, then never answers
            writer.write(bytes(gurux_client(fleet.meters[0]).aarqRequest()[0]))
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.4):
                    await reader.read(4096)
    finally:
        await hes.stop()


def test_settings_refuse_what_cannot_work() -> None:
    with pytest.raises(ValueError, match="not a loopback address"):
        DialInSettings("10.0.0.1")
    with pytest.raises(ValueError, match="backoff"):
        DialInSettings("127.0.0.1", backoff_initial_s=10, backoff_max_s=1)


@pytest.mark.parametrize("cap", [1, 3])
async def test_no_more_connection_attempts_at_once_than_the_cap(monkeypatch: pytest.MonkeyPatch, cap: int) -> None:
    hes = FakeHes()
    port = await hes.start()
    real_open, attempts, peak = asyncio.open_connection, [0], [0]

    async def slow_open(*args: Any, **kwargs: Any) -> Streams:
        # A slow network in front of the real connect (asyncio's function, not ours, is wrapped).
        attempts[0] += 1
        peak[0] = max(peak[0], attempts[0])
        try:
            await asyncio.sleep(0.05)
            return await real_open(*args, **kwargs)
        finally:
            attempts[0] -= 1

    monkeypatch.setattr(asyncio, "open_connection", slow_open)
    fleet = fleet_from_options(6, base_port=0)
    try:
        async with dialling(fleet, _settings(port, max_connecting=cap)):
            for _ in range(6):
                await hes.next()
        assert peak[0] == cap
    finally:
        await hes.stop()
