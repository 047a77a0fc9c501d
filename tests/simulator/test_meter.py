"""The sans-IO simulated meter: gurux-dlms's client frames in, meter frames out, over wrapper and HDLC; no sockets."""

from __future__ import annotations

import struct
from dataclasses import replace

import pytest
from gurux_dlms import GXDLMSException

from hes.simulator.dlms.association import AssociationConfig, AssociationEstablished, AssociationReleased
from hes.simulator.dlms.hdlc_frame import (
    FrameKind,
    HdlcAddress,
    HdlcFrame,
    decode_frame,
    encode_frame,
    i_control,
    u_control,
)
from hes.simulator.dlms.hdlc_link import LinkConnected, LinkDisconnected
from hes.simulator.faults import Fault, FaultKind
from hes.simulator.fleet import PUBLIC_CLIENT, FleetSpec, MeterSpec, fleet_from_options
from hes.simulator.meter import (
    CommunicationError,
    FrameIgnored,
    HdlcConnection,
    LinkChanged,
    MeterIdentity,
    SessionEvent,
    SimulatedMeter,
)
from tests.simulator.gurux_peer import (
    ENERGY_WH,
    NOW,
    ConnectionWire,
    GuruxPeer,
    TinyObjects,
    gurux_client,
    tiny_objects,
)


def _fleet(transport: str = "wrapper", auth: str = "none", meters: int = 1, brand: str = "hexing") -> FleetSpec:
    return fleet_from_options(meters, brand=brand, transport=transport, auth=auth, base_port=0)


def _meter(spec: MeterSpec) -> SimulatedMeter:
    return SimulatedMeter.from_spec(spec, tiny_objects(spec))


def _hdlc_connection(*meters: SimulatedMeter) -> HdlcConnection:
    by_lower = {meter.identity.hdlc_address.lower: meter for meter in meters}
    return HdlcConnection(lambda address: by_lower.get(address.lower))


@pytest.mark.parametrize("auth", ["none", "lls", "hls"])
async def test_wrapper_session_reads_clock_register_and_serial_then_reassociates(auth: str) -> None:
    (spec,) = _fleet(auth=auth).meters
    meter = _meter(spec)
    connection = meter.wrapper_connection()
    peer = GuruxPeer(gurux_client(spec), ConnectionWire(connection))

    await peer.associate()
    assert await peer.read_basics() == (NOW, ENERGY_WH / 1000, spec.meter_number)
    await peer.release()
    # A second association on the same connection (gurux's counter carries on, as a HES's persisted one does).
    await peer.associate()
    assert (await peer.read_basics())[2] == spec.meter_number
    await peer.release()

    sessions = [event.event for event in connection.drain_events() if isinstance(event, SessionEvent)]
    assert [type(event) for event in sessions] == [AssociationEstablished, AssociationReleased] * 2
    assert all(
        isinstance(event, AssociationEstablished) and event.ciphered == (auth == "hls") for event in sessions[::2]
    )
    assert not connection.closed
    assert meter.counters.connections == 1 and meter.counters.communication_errors == 0


@pytest.mark.parametrize("auth", ["none", "lls"])
async def test_hdlc_session_connects_associates_reads_and_disconnects(auth: str) -> None:
    (spec,) = _fleet("hdlc", auth).meters
    meter = _meter(spec)
    connection = _hdlc_connection(meter)
    peer = GuruxPeer(gurux_client(spec), ConnectionWire(connection))

    await peer.associate()
    assert await peer.read_basics() == (NOW, ENERGY_WH / 1000, spec.meter_number)
    await peer.release()

    events = connection.drain_events()
    links = [type(event.event) for event in events if isinstance(event, LinkChanged)]
    assert links == [LinkConnected, LinkDisconnected]
    assert not connection.closed


async def test_one_hdlc_connection_reaches_each_meter_by_its_physical_address() -> None:
    specs = _fleet("hdlc", meters=2).meters
    first, second = (_meter(spec) for spec in specs)
    connection = _hdlc_connection(first, second)
    for meter, spec in zip((first, second), specs, strict=True):
        peer = GuruxPeer(gurux_client(spec), ConnectionWire(connection))
        await peer.associate()
        assert (await peer.read_basics())[2] == meter.meter_number
        await peer.release()
    assert first.counters.requests >= 5 and second.counters.requests >= 5


async def test_hls_meter_also_serves_the_public_client_without_security() -> None:
    (spec,) = _fleet(auth="hls").meters
    peer = GuruxPeer(gurux_client(spec, client_sap=PUBLIC_CLIENT), ConnectionWire(_meter(spec).wrapper_connection()))
    await peer.associate()
    assert (await peer.read_basics())[2] == spec.meter_number


async def test_hls_with_a_wrong_key_is_refused_and_the_connection_stays_usable() -> None:
    (spec,) = _fleet(auth="hls").meters
    connection = _meter(spec).wrapper_connection()
    client = gurux_client(spec)
    client.ciphering.authenticationKey = bytes(16)
    with pytest.raises(GXDLMSException):
        await GuruxPeer(client, ConnectionWire(connection)).associate()
    assert not connection.closed
    peer = GuruxPeer(gurux_client(spec, invocation_counter=100), ConnectionWire(connection))
    await peer.associate()
    assert (await peer.read_basics())[2] == spec.meter_number


def test_garbage_ends_the_wrapper_connection_with_one_communication_event() -> None:
    (spec,) = _fleet().meters
    meter = _meter(spec)
    connection = meter.wrapper_connection()

    assert connection.receive_data(b"GET / HTTP/1.1\r\n\r\n") == b""

    assert connection.closed
    assert connection.drain_events() == [
        CommunicationError(spec.meter_number, "wrapper version 0x4745, expected 0x0001")
    ]
    assert connection.receive_data(struct.pack(">HHHH", 1, 16, 1, 0)) == b""  # closed: nothing more is served
    assert meter.counters.communication_errors == 1
    # The meter itself is fine: a new connection is served.
    assert not meter.wrapper_connection().closed


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (struct.pack(">HHHH", 1, 16, 9, 2) + b"\x60\x00", "no logical device at wPort 9"),
        (struct.pack(">HHHH", 1, 77, 1, 2) + b"\x60\x00", "serves no client SAP 77"),
        (struct.pack(">HHHH", 1, 16, 1, 3) + b"\x60\x05\xa1", ""),  # a truncated AARQ
    ],
)
def test_a_request_the_meter_cannot_serve_ends_only_that_connection(frame: bytes, reason: str) -> None:
    (spec,) = _fleet().meters
    connection = _meter(spec).wrapper_connection()
    connection.receive_data(frame)
    assert connection.closed
    (event,) = connection.drain_events()
    assert isinstance(event, CommunicationError) and reason.lower() in event.reason.lower()


def test_hdlc_frames_for_other_stations_are_ignored_and_a_bad_fcs_ends_the_connection() -> None:
    (spec,) = _fleet("hdlc").meters
    meter = _meter(spec)
    connection = _hdlc_connection(meter)
    snrm = encode_frame(HdlcFrame(HdlcAddress.server(1, 0x55), HdlcAddress(16), u_control(FrameKind.SNRM, True)))

    assert connection.receive_data(snrm) == b""
    assert connection.drain_events() == [FrameIgnored(f"no meter at HDLC address {HdlcAddress(1, 0x55, 2)}")]
    assert not connection.closed

    good = encode_frame(HdlcFrame(HdlcAddress.server(1, spec.physical_address), HdlcAddress(16), 0x93))
    corrupt = good[:-3] + bytes([good[-3] ^ 0xFF]) + good[-2:]
    connection.receive_data(corrupt)
    assert connection.closed
    assert connection.drain_events() == [CommunicationError(None, "HDLC FCS mismatch")]


def test_a_meter_needs_a_client_and_its_own_system_title() -> None:
    identity = MeterIdentity("47007000001", "hexing", b"HXE00001", HdlcAddress.server(1, 16))
    objects = TinyObjects(identity.meter_number)
    with pytest.raises(ValueError, match="at least one client"):
        SimulatedMeter(identity, {}, lambda sap: objects)
    with pytest.raises(ValueError, match="system title"):
        SimulatedMeter(identity, {16: AssociationConfig(b"OTHER001")}, lambda sap: objects)


def test_secrets_stay_out_of_repr() -> None:
    (spec,) = _fleet(auth="hls").meters
    assert spec.encryption_key is not None and spec.encryption_key.hex() not in repr(spec)
    assert spec.encryption_key.hex() not in repr(_meter(spec).clients)


def test_an_hdlc_frame_the_link_rejects_is_answered_with_frmr_before_the_connection_ends() -> None:
    (spec,) = _fleet("hdlc").meters
    meter = _meter(spec)
    connection = _hdlc_connection(meter)
    server, client = HdlcAddress.server(1, spec.physical_address), HdlcAddress(16)
    connection.receive_data(encode_frame(HdlcFrame(server, client, u_control(FrameKind.SNRM, True))))
    assert [type(event) for event in connection.drain_events()] == [LinkChanged]

    # An I-frame whose N(R) acknowledges a frame the meter never sent (ISO/IEC 13239 FRMR reason Z).
    answer = connection.receive_data(encode_frame(HdlcFrame(server, client, i_control(0, 3, True), b"\xe6\xe6\x00")))

    assert decode_frame(answer[1:-1]).kind is FrameKind.FRMR
    assert connection.closed
    (event,) = connection.drain_events()
    assert isinstance(event, CommunicationError) and event.meter_number == spec.meter_number
    assert meter.counters.communication_errors == 1


def test_answers_name_their_meter_client_and_response_apdu() -> None:
    (spec,) = _fleet().meters
    meter = _meter(spec)
    connection = meter.wrapper_connection()
    aarq = bytes(gurux_client(spec).aarqRequest()[0])
    (answer,) = connection.receive_answers(aarq)
    assert answer.meter is meter and answer.client == spec.client_sap
    assert answer.apdu is not None and answer.apdu[0] == 0x61 and answer.data.endswith(answer.apdu)
    assert connection.receive_answers(b"\x00\x02garbage") == [] and connection.closed


def test_an_hdlc_answer_names_the_meter_of_the_line_that_sent_it() -> None:
    specs = _fleet("hdlc", meters=2).meters
    first, second = (_meter(spec) for spec in specs)
    connection = _hdlc_connection(first, second)
    answers = connection.receive_answers(bytes(gurux_client(specs[1]).snrmRequest()))
    assert [(answer.meter, answer.client, answer.apdu) for answer in answers] == [(second, specs[1].client_sap, None)]


def test_a_wrong_secret_meter_holds_other_secrets_than_its_spec() -> None:
    faults = (Fault(FaultKind.WRONG_SECRET),)
    for auth in ("lls", "hls"):
        (spec,) = _fleet(auth=auth).meters
        right = SimulatedMeter.from_spec(spec, tiny_objects(spec)).clients[spec.client_sap]
        wrong = SimulatedMeter.from_spec(replace(spec, faults=faults), tiny_objects(spec)).clients[spec.client_sap]
        assert right.lls_password == spec.lls_password and right != wrong
        if auth == "hls":
            assert right.keys is not None and wrong.keys is not None
            assert wrong.keys.encryption_key != right.keys.encryption_key
            assert wrong.keys.authentication_key != right.keys.authentication_key
