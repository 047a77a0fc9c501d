"""The simulator's interop matrix over real TCP: two independent DLMS clients against the simulated meters.

gurux-dlms (the HES's own client library) runs every transport x security combination the fleet offers against a
meter with its brand profile's objects (the IDIS profile: clock, energy register, load profile, disconnect
control): read the clock, read the energy register with its scaler_unit, read the load profile by range for the
last two hours with a small client PDU (so the meter answers in GET blocks, and on HDLC also in segmented
I-frames), open and close the relay, and set the clock. dlms-cosem 21.3.2, a second client written independently
of both gurux and the simulator, associates over the wrapper, reads the clock and the energy register, and
releases.

Security: "hls-gmac" meters require every request authenticated and encrypted (security suite 0), so that row
covers HLS-GMAC and authenticated encryption together, with service-specific glo ciphering. A meter with
`ciphering: general` offers general-protection, so gurux ciphers with general-glo-ciphering: both wrappings are
run over both transports, and every ciphered answer must come back in the wrapping of its request. Before
associating, the public client reads the management client's invocation counter (0-0:43.1.0.255), and the
management client is accepted from that counter on and refused below it.

Receiving a push (DataNotification over TCP to the HES's listener) is covered in tests/simulator/test_push.py.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from dlms_cosem import cosem, enumerations
from dlms_cosem.clients.dlms_client import DlmsClient
from dlms_cosem.time import datetime_from_bytes
from dlms_cosem.utils import parse_as_dlms_data
from gurux_dlms import GXDateTime, GXDLMSException
from gurux_dlms.objects import GXDLMSClock, GXDLMSData, GXDLMSDisconnectControl, GXDLMSProfileGeneric, GXDLMSRegister

from hes.simulator.dlms.hdlc_frame import LLC_COMMAND, LLC_RESPONSE, FrameKind, HdlcFrameReader
from hes.simulator.dlms.wrapper import WrapperFramer
from hes.simulator.fleet import PUBLIC_CLIENT, Authentication, Ciphering, MeterSpec, Transport, fleet_from_options
from hes.simulator.meter import MANAGEMENT_LOGICAL_DEVICE
from hes.simulator.server import FleetServer, run_fleet
from tests.simulator.gurux_peer import CLIENT_TITLE, CLOCK, ENERGY, GuruxPeer, StreamWire, gurux_client

PROFILE, RELAY, INVOCATION_COUNTER = "1.0.99.1.0.255", "0.0.96.3.10.255", "0.0.43.1.0.255"
_BRAND = "idis"  # the generic profile: every object of the matrix, with the management client's access rights
_SMALL_PDU = 128  # client max receive PDU: the two-hour profile (~8 rows of 6 columns) does not fit in one
_SMALL_INFO_FIELD = 64  # client HDLC max info field (receive): the meter must segment its I-frames
_TEST_TIMEOUT = 20.0  # seconds one combination may take before it fails instead of hanging
_CLOCK_TOLERANCE = 2.0  # seconds between the time set and the time read back
_PERIOD = timedelta(minutes=15)  # the IDIS load profile's capture period (900 s)
_SECURITIES = [Authentication.NONE, Authentication.LLS, Authentication.HLS_GMAC]


class CountingWire:
    """A StreamWire that counts the requests sent, to show an answer came in several blocks / segments."""

    def __init__(self, wire: StreamWire) -> None:
        self.wire = wire
        self.sent = 0

    async def send(self, data: bytes) -> None:
        self.sent += 1
        await self.wire.send(data)

    async def receive(self) -> bytes:
        return await self.wire.receive()


class TagWire:
    """A StreamWire that records the tag and security control octet of every APDU sent and received."""

    def __init__(self, wire: StreamWire, transport: Transport) -> None:
        self.wire = wire
        self.hdlc = transport is Transport.HDLC
        self.sent: list[tuple[int, int | None]] = []
        self.received: list[tuple[int, int | None]] = []
        self._readers = {"sent": self._reader(), "received": self._reader()}

    def _reader(self) -> HdlcFrameReader | WrapperFramer:
        return HdlcFrameReader() if self.hdlc else WrapperFramer()

    def _record(self, direction: str, data: bytes, into: list[tuple[int, int | None]]) -> None:
        reader = self._readers[direction]
        if isinstance(reader, WrapperFramer):
            into.extend(_tag_and_security(frame.apdu) for frame in reader.receive_data(data))
            return
        reader.receive_data(data)
        while (frame := reader.next_frame()) is not None:
            # The first segment of an APDU starts with the LLC header; later segments do not (no APDU tag there).
            if frame.kind is FrameKind.I and frame.information[:3] in (LLC_COMMAND, LLC_RESPONSE):
                into.append(_tag_and_security(frame.information[3:]))

    async def send(self, data: bytes) -> None:
        self._record("sent", data, self.sent)
        await self.wire.send(data)

    async def receive(self) -> bytes:
        data = await self.wire.receive()
        self._record("received", data, self.received)
        return data


_GENERAL_GLO = 0xDB
_SERVICE_SPECIFIC = {0xC8: 0xCC, 0xC9: 0xCD, 0xCB: 0xCF}  # glo-get/-set/-action-request -> their glo responses
_AUTHENTICATED_ENCRYPTED = 0x30  # security control: authenticated and encrypted, suite 0


def _tag_and_security(apdu: bytes) -> tuple[int, int | None]:
    """An APDU's tag, and its security control octet when it is ciphered (glo or general-glo)."""
    if apdu[0] == _GENERAL_GLO:
        return apdu[0], apdu[11]  # tag, system title length (8) and title, content length, SC
    if apdu[0] in _SERVICE_SPECIFIC or apdu[0] in _SERVICE_SPECIFIC.values():
        return apdu[0], apdu[2] if apdu[1] < 0x80 else apdu[2 + (apdu[1] & 0x7F)]
    return apdu[0], None


@dataclass
class Session:
    """One associated gurux client over TCP to one meter of a running fleet."""

    spec: MeterSpec
    server: FleetServer
    peer: GuruxPeer
    wire: CountingWire


@asynccontextmanager
async def _gurux_session(transport: Transport, security: Authentication) -> AsyncIterator[Session]:
    """A one-meter fleet with the brand profile's objects, and a gurux client associated to it over TCP."""
    fleet = fleet_from_options(1, brand=_BRAND, transport=transport, auth=security, base_port=0)
    (spec,) = fleet.meters
    async with run_fleet(fleet) as server:
        endpoint = server.endpoints[spec.meter_number]
        client = gurux_client(spec)
        client.maxReceivePDUSize = _SMALL_PDU
        if transport is Transport.HDLC:
            client.hdlcSettings.maxInfoRX = _SMALL_INFO_FIELD
        stream = await StreamWire.open(endpoint.host, endpoint.port)
        wire = CountingWire(stream)
        peer = GuruxPeer(client, wire)
        try:
            await peer.associate()
            yield Session(spec, server, peer, wire)
            await peer.release()
        finally:
            await stream.close()


def _as_datetime(value: Any) -> datetime:
    """A gurux date-time (GXDateTime or datetime) as an aware UTC datetime."""
    moment = value.value if isinstance(value, GXDateTime) else value
    assert isinstance(moment, datetime)
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


_MATRIX = [
    pytest.param(transport, security, id=f"{transport}-{security}")
    for transport in Transport
    for security in _SECURITIES
]


@pytest.mark.parametrize(("transport", "security"), _MATRIX)
async def test_gurux_reads_clock_register_and_profile(transport: Transport, security: Authentication) -> None:
    async with asyncio.timeout(_TEST_TIMEOUT), _gurux_session(transport, security) as session:
        peer = session.peer
        clock = GXDLMSClock(CLOCK)
        await peer.read(clock, 2)
        assert abs(_as_datetime(clock.time).timestamp() - time.time()) < 120  # the meter's running UTC clock

        register = GXDLMSRegister(ENERGY)
        await peer.read(register, 3)
        await peer.read(register, 2)
        assert register.unit == 30  # Wh
        # gurux applies the scaler: value * 10^scaler Wh, a plausible meter reading (not negative, under 1 GWh).
        assert isinstance(register.value, int | float) and 0 <= register.value < 1e9

        profile = GXDLMSProfileGeneric(PROFILE)
        await peer.read(profile, 3)  # capture objects first: gurux needs them to build the range request
        assert [(item.objectType, item.logicalName) for item, _ in profile.captureObjects][:1] == [(8, CLOCK)]
        end = datetime.now(UTC).replace(microsecond=0)
        start = end - timedelta(hours=2)
        sent_before = session.wire.sent
        reply = await peer.exchange(peer.client.readRowsByRange(profile, start, end))
        peer.client.updateValue(profile, 2, reply.value)
        assert session.wire.sent - sent_before > 1  # the answer came in several GET blocks / HDLC segments

        stamps = [_as_datetime(row[0]) for row in profile.buffer]
        assert len(stamps) >= 7  # 2 h of 15-minute periods (8), less one if a period boundary is still open
        assert all(start <= stamp <= end for stamp in stamps)
        assert all(later - earlier == _PERIOD for earlier, later in itertools.pairwise(stamps))


@pytest.mark.parametrize(("transport", "security"), _MATRIX)
async def test_gurux_switches_the_relay_and_sets_the_clock(transport: Transport, security: Authentication) -> None:
    async with asyncio.timeout(_TEST_TIMEOUT), _gurux_session(transport, security) as session:
        peer = session.peer
        relay = GXDLMSDisconnectControl(RELAY)
        await peer.exchange(relay.remoteDisconnect(peer.client))
        await peer.read(relay, 2)
        await peer.read(relay, 3)
        assert (relay.outputState, int(relay.controlState)) == (False, 0)  # disconnected
        await peer.exchange(relay.remoteReconnect(peer.client))
        await peer.read(relay, 2)
        await peer.read(relay, 3)
        assert (relay.outputState, int(relay.controlState)) == (True, 1)  # connected (control mode 1: d)

        target = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1, minutes=7)
        clock = GXDLMSClock(CLOCK)
        clock.time = GXDateTime(target)
        await peer.exchange(peer.client.write(clock, 2))
        read_back = GXDLMSClock(CLOCK)
        await peer.read(read_back, 2)
        assert abs((_as_datetime(read_back.time) - target).total_seconds()) <= _CLOCK_TOLERANCE


# dlms-cosem 21.3.2 speaks the wrapper only over TCP (its HDLC transport is serial).
_COSEM_MECHANISMS = {
    Authentication.NONE: None,
    Authentication.LLS: enumerations.AuthenticationMechanism.LLS,
    Authentication.HLS_GMAC: enumerations.AuthenticationMechanism.HLS_GMAC,
}


def _dlms_cosem_session(spec: MeterSpec, port: int) -> tuple[datetime, int, Any]:
    """Blocking: associate with dlms-cosem, read the clock, the energy register and its scaler_unit, release."""
    client = DlmsClient.with_tcp_transport(
        host=spec.host,
        port=port,
        client_logical_address=spec.client_sap,
        server_logical_address=MANAGEMENT_LOGICAL_DEVICE,
        authentication_method=_COSEM_MECHANISMS[spec.authentication],
        password=spec.lls_password,
        encryption_key=spec.encryption_key,
        authentication_key=spec.authentication_key,
        client_system_title=CLIENT_TITLE if spec.ciphered else None,
        client_initial_invocation_counter=1,
        timeout=5,
    )
    clock = cosem.CosemAttribute(enumerations.CosemInterface.CLOCK, cosem.Obis(0, 0, 1, 0, 0, 255), 2)
    energy = cosem.Obis(1, 0, 1, 8, 0, 255)
    with client.session():
        clock_bytes = client.get(clock)
        value = client.get(cosem.CosemAttribute(enumerations.CosemInterface.REGISTER, energy, 2))
        scaler_unit = client.get(cosem.CosemAttribute(enumerations.CosemInterface.REGISTER, energy, 3))
    moment, _status = datetime_from_bytes(parse_as_dlms_data(clock_bytes))
    return moment, parse_as_dlms_data(value), parse_as_dlms_data(scaler_unit)


@pytest.mark.parametrize("security", _SECURITIES, ids=str)
async def test_dlms_cosem_reads_clock_and_register_over_the_wrapper(security: Authentication) -> None:
    fleet = fleet_from_options(1, brand=_BRAND, transport="wrapper", auth=security, base_port=0)
    (spec,) = fleet.meters
    async with asyncio.timeout(_TEST_TIMEOUT), run_fleet(fleet) as server:
        port = server.endpoints[spec.meter_number].port
        moment, value, scaler_unit = await asyncio.to_thread(_dlms_cosem_session, spec, port)
        assert abs(_as_datetime(moment).timestamp() - time.time()) < 120
        assert isinstance(value, int) and value >= 0
        assert list(scaler_unit)[1] == 30  # Wh
        meter = server.meters[spec.meter_number]
        assert meter.counters.communication_errors == 0


async def _read_invocation_counter(spec: MeterSpec, server: FleetServer) -> int:
    """The management client's next invocation counter, read by the public client (no security) over TCP."""
    endpoint = server.endpoints[spec.meter_number]
    stream = await StreamWire.open(endpoint.host, endpoint.port)
    try:
        peer = GuruxPeer(gurux_client(spec, client_sap=PUBLIC_CLIENT), stream)
        await peer.associate()
        value = await peer.read(GXDLMSData(INVOCATION_COUNTER), 2)
        await peer.release()
    finally:
        await stream.close()
    assert isinstance(value, int)
    return value


async def _management_session(spec: MeterSpec, server: FleetServer, invocation_counter: int) -> None:
    """Associate as the HLS-GMAC management client from `invocation_counter` on, read the clock, release."""
    endpoint = server.endpoints[spec.meter_number]
    stream = await StreamWire.open(endpoint.host, endpoint.port)
    try:
        peer = GuruxPeer(gurux_client(spec, invocation_counter=invocation_counter), stream)
        await peer.associate()
        await peer.read(GXDLMSClock(CLOCK), 2)
        await peer.release()
    finally:
        await stream.close()


@pytest.mark.parametrize("brand", ["idis", "hexing"])
@pytest.mark.parametrize("transport", list(Transport), ids=str)
async def test_the_public_client_reads_the_invocation_counter_the_management_client_must_use(
    brand: str, transport: Transport
) -> None:
    fleet = fleet_from_options(1, brand=brand, transport=transport, auth="hls", base_port=0)
    (spec,) = fleet.meters
    async with asyncio.timeout(_TEST_TIMEOUT), run_fleet(fleet) as server:
        assert await _read_invocation_counter(spec, server) == 0  # no counter accepted yet: any will do
        await _management_session(spec, server, invocation_counter=500)  # a HES whose counter has moved on
        counter = await _read_invocation_counter(spec, server)
        assert counter > 500

        with pytest.raises(GXDLMSException):  # below the counter: the AARQ's ciphered InitiateRequest is refused
            await _management_session(spec, server, invocation_counter=counter - 1)
        assert await _read_invocation_counter(spec, server) == counter  # a refused counter does not move it
        await _management_session(spec, server, invocation_counter=counter)  # exactly the value read: accepted
        assert await _read_invocation_counter(spec, server) > counter
        assert server.meters[spec.meter_number].counters.communication_errors == 0


@pytest.mark.parametrize("ciphering", list(Ciphering), ids=str)
@pytest.mark.parametrize("transport", list(Transport), ids=str)
async def test_gurux_gets_answers_in_the_ciphering_it_asked_in(transport: Transport, ciphering: Ciphering) -> None:
    fleet = fleet_from_options(1, brand=_BRAND, transport=transport, auth="hls", ciphering=ciphering, base_port=0)
    (spec,) = fleet.meters
    async with asyncio.timeout(_TEST_TIMEOUT), run_fleet(fleet) as server:
        endpoint = server.endpoints[spec.meter_number]
        stream = await StreamWire.open(endpoint.host, endpoint.port)
        wire = TagWire(stream, transport)
        peer = GuruxPeer(gurux_client(spec), wire)
        try:
            await peer.associate()
            clock = GXDLMSClock(CLOCK)
            await peer.read(clock, 2)  # GET
            await peer.exchange(peer.client.write(clock, 2))  # SET
            relay = GXDLMSDisconnectControl(RELAY)
            await peer.exchange(relay.remoteReconnect(peer.client))  # ACTION
            register = GXDLMSRegister(ENERGY)
            await peer.read(register, 3)
            await peer.release()
        finally:
            await stream.close()

    # The xDLMS requests after the AARQ (its InitiateRequest is always glo: nothing is negotiated yet), paired with
    # their answers: every one authenticated and encrypted, every answer wrapped as its request was.
    services = [
        (request, answer)
        for request, answer in zip(wire.sent, wire.received, strict=True)
        if request[0] == _GENERAL_GLO or request[0] in _SERVICE_SPECIFIC
    ]
    assert len(services) >= 5  # the HLS reply, GET, SET, ACTION, GET
    for (request_tag, request_sc), (answer_tag, answer_sc) in services:
        assert request_sc == answer_sc == _AUTHENTICATED_ENCRYPTED
        expected = _GENERAL_GLO if request_tag == _GENERAL_GLO else _SERVICE_SPECIFIC[request_tag]
        assert answer_tag == expected
    general = [request for request, _ in services if request[0] == _GENERAL_GLO]
    if ciphering is Ciphering.GENERAL:
        assert len(general) >= 4  # every service once associated (gurux may send the HLS reply glo)
    else:
        assert not general
    assert server.meters[spec.meter_number].counters.communication_errors == 0
