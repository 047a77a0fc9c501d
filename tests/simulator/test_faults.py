"""Faulty meters: the fault catalogue and its choice (no sockets), then each kind over real TCP as a HES sees it.

Every TCP test runs a faulty meter next to a healthy one and ends by reading the healthy one: a fault never spills
over to the rest of the fleet.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import time

import pytest
from gurux_dlms import GXByteBuffer, GXDLMSException, GXReplyData
from gurux_dlms.objects import GXDLMSData

from hes.simulator.dlms.apdu_services import AccessSelection, DataAccessResult
from hes.simulator.dlms.errors import RemoteProtocolError
from hes.simulator.dlms.values import Data, octets
from hes.simulator.dlms.wrapper import WrapperFramer
from hes.simulator.faults import (
    MIX,
    Fault,
    FaultKind,
    FaultShares,
    parse_fault,
    parse_fault_share,
    pick_faults,
    wrong_key,
    wrong_password,
)
from hes.simulator.fleet import Authentication, FleetSpec, MeterGroup, MeterSpec, Transport, build_fleet
from hes.simulator.injection import MeterFaults, is_partial
from hes.simulator.meter import Answer, ObjectsForClient
from hes.simulator.server import FleetServer, ServerLimits, run_fleet
from tests.simulator.gurux_peer import NOW, GuruxPeer, StreamWire, TinyObjects, gurux_client

BIG = "0.0.96.99.0.255"  # a Data object whose value needs several GET blocks / HDLC segments
BIG_VALUE = bytes(range(256)) * 3
_SILENCE = 0.4  # seconds a test waits to show that nothing comes


class BigObjects(TinyObjects):
    """TinyObjects plus one 768-octet value."""

    def get(
        self, class_id: int, obis: bytes, attribute: int, access: AccessSelection | None
    ) -> Data | DataAccessResult:
        if (class_id, obis, attribute) == (1, bytes((0, 0, 96, 99, 0, 255)), 2):
            return octets(BIG_VALUE)
        return super().get(class_id, obis, attribute, access)


def big_objects(spec: MeterSpec) -> ObjectsForClient:
    """One BigObjects per meter."""
    objects = BigObjects(spec.meter_number)
    return lambda client_sap: objects


def _fleet(
    *faults: Fault, auth: Authentication = Authentication.NONE, transport: Transport = Transport.WRAPPER
) -> FleetSpec:
    """A faulty meter (first) and a healthy one (second)."""
    groups = [MeterGroup(1, "hexing", transport, auth, faults), MeterGroup(1, "hexing", transport, auth)]
    return build_fleet(groups, seed=3, base_port=0)


async def _open(server: FleetServer, spec: MeterSpec) -> StreamWire:
    endpoint = server.endpoints[spec.meter_number]
    return await StreamWire.open(endpoint.host, endpoint.port)


async def _healthy_meter_answers(server: FleetServer, fleet: FleetSpec) -> None:
    spec = fleet.meters[1]
    peer = GuruxPeer(gurux_client(spec), await _open(server, spec))
    await peer.associate()
    assert (await peer.read_basics())[2] == spec.meter_number
    await peer.release()


async def _silent(wire: StreamWire, seconds: float = _SILENCE) -> bool:
    """Whether nothing arrives (and the connection stays open) for `seconds`."""
    try:
        async with asyncio.timeout(seconds):
            await wire.reader.read(4096)
    except TimeoutError:
        return True
    return False


async def _closed(wire: StreamWire) -> bool:
    async with asyncio.timeout(5):
        try:
            return await wire.reader.read(4096) == b""
        except ConnectionError:
            return True


# ---------------------------------------------------------------------------------------------------- catalogue


def test_a_fault_is_a_kind_or_a_mapping_and_every_bad_setting_is_listed() -> None:
    assert parse_fault("garbage", "f") == (Fault(FaultKind.GARBAGE), [])
    fault, problems = parse_fault({"kind": "latency", "latency_ms": 500, "jitter_ms": 50}, "f")
    assert problems == [] and fault == Fault(FaultKind.LATENCY, latency_ms=500, jitter_ms=50)
    assert fault.describe() == "latency(latency_ms=500, jitter_ms=50)"
    assert parse_fault({"kind": "warp"}, "f")[1] == [f"f: kind is one of {', '.join(FaultKind)}"]
    assert parse_fault(7, "f")[1] == ["f: a fault is a kind or a mapping with a kind"]
    _, problems = parse_fault({"kind": "latency", "delay_s": 3, "latency_ms": 1.5, "jitter_ms": True}, "f")
    assert problems == [
        "f: latency has no setting 'delay_s'",
        "f: latency_ms is a whole number",
        "f: jitter_ms is a number",
    ]
    assert parse_fault({"kind": "latency", "latency_ms": 100, "jitter_ms": 200}, "f")[1] == [
        "f: jitter_ms is 0..latency_ms"
    ]
    assert parse_fault({"kind": "flapping", "period_s": 0, "every_other": False}, "f")[1] == [
        "f: a flapping meter has a period_s or refuses every_other connection"
    ]
    assert parse_fault({"kind": "garbage", "rate": 0}, "f")[1] == ["f: rate is more than 0 and at most 1"]


def test_fault_shares_from_the_command_line() -> None:
    assert parse_fault_share("no-answer=0.25") == (FaultKind.NO_ANSWER, 0.25)
    for text, message in [
        ("garbage", "is not KIND=SHARE"),
        ("warp=0.1", "fault kind 'warp' is not one of"),
        ("garbage=2", "share of garbage is a number from 0 to 1"),
        ("garbage=lots", "share of garbage is a number from 0 to 1"),
    ]:
        with pytest.raises(ValueError, match=message):
            parse_fault_share(text)


def test_the_seed_picks_the_faulty_meters_and_a_share_is_rounded_half_up() -> None:
    secrets = [True] * 20
    shares = FaultShares(0.25, ((FaultKind.GARBAGE, 0.05),))
    picked = pick_faults(shares, seed=7, has_secret=secrets)
    assert pick_faults(shares, seed=7, has_secret=secrets) == picked
    assert pick_faults(shares, seed=8, has_secret=secrets) != picked
    assert sum(1 for faults in picked if any(f.kind is FaultKind.GARBAGE for f in faults)) >= 1
    mixed = [faults for faults in pick_faults(FaultShares(0.5), seed=7, has_secret=secrets) if faults]
    assert len(mixed) == 10  # half of 20, one fault each, the kinds of the mix in turn
    assert {faults[0].kind for faults in mixed} == set(MIX)
    assert sum(1 for faults in pick_faults(FaultShares(0.05), seed=1, has_secret=[True] * 10) if faults) == 1


def test_only_meters_with_a_secret_get_wrong_secret() -> None:
    secrets = [False] * 10 + [True] * 2
    picked = pick_faults(FaultShares(1.0, ((FaultKind.WRONG_SECRET, 1.0),)), seed=3, has_secret=secrets)
    assert all(all(f.kind is not FaultKind.WRONG_SECRET for f in faults) for faults in picked[:10])
    assert all(any(f.kind is FaultKind.WRONG_SECRET for f in faults) for faults in picked[10:])
    assert wrong_password(b"Abcd2345") != b"Abcd2345" and len(wrong_password(b"Abcd2345")) == 8
    assert wrong_key(bytes(16)) != bytes(16) and len(wrong_key(bytes(16))) == 16


# ---------------------------------------------------------------------------------------------------- decisions


def _answer(data: bytes, apdu: bytes | None = None) -> Answer:
    return Answer(None, data, None, apdu)


def test_what_a_faulty_meter_does_with_an_answer() -> None:
    frame = WrapperFramer().frame(1, 1, b"\xc4\x01\xc1\x00\x06\x00\x00\x00\x01")
    assert MeterFaults(()).deliver(_answer(frame)).data == frame
    assert MeterFaults([Fault(FaultKind.NO_ANSWER)]).deliver(_answer(frame)).data == b""
    assert MeterFaults([Fault(FaultKind.TRUNCATED)]).deliver(_answer(frame)).data == frame[: len(frame) // 2]
    garbage = MeterFaults([Fault(FaultKind.GARBAGE)], seed=1).deliver(_answer(frame)).data
    assert len(garbage) == len(frame) and garbage[0] & 0x80  # can never start a wrapper frame or an HDLC flag
    with pytest.raises(RemoteProtocolError):
        WrapperFramer().receive_data(garbage)
    delays = {MeterFaults([Fault(FaultKind.LATENCY)], seed=s).deliver(_answer(frame)).delay for s in range(20)}
    assert all(0.2 <= delay <= 0.4 for delay in delays) and len(delays) > 1
    assert MeterFaults([Fault(FaultKind.LATE_ANSWER, delay_s=5)]).deliver(_answer(frame)).delay == 5
    assert MeterFaults([Fault(FaultKind.SLOW, ms_per_byte=4)]).deliver(_answer(frame)).seconds_per_byte == 0.004
    rare = MeterFaults([Fault(FaultKind.GARBAGE, rate=0.5)], seed=2)
    spoiled = [rare.deliver(_answer(frame)).data != frame for _ in range(40)]
    assert 5 < sum(spoiled) < 35


def test_a_flapping_meter_refuses_every_other_connection_and_ends_each_after_its_period() -> None:
    flapping = MeterFaults([Fault(FaultKind.FLAPPING, period_s=2.5)])
    assert [flapping.admit() for _ in range(4)] == [True, False, True, False]
    assert flapping.lifetime() == 2.5
    steady = MeterFaults([Fault(FaultKind.FLAPPING, period_s=1, every_other=False)])
    assert all(steady.admit() for _ in range(3))
    assert MeterFaults(()).lifetime() is None


def test_only_a_block_that_is_not_the_last_is_partial() -> None:
    first_of_two = b"\xc4\x02\xc1\x00\x00\x00\x00\x01\x00\x02\xaa\xbb"
    last = b"\xc4\x02\xc1\x01\x00\x00\x00\x02\x00\x02\xaa\xbb"
    assert is_partial(_answer(b"", first_of_two)) and not is_partial(_answer(b"", last))
    assert not is_partial(_answer(b"", b"\xc4\x01\xc1\x00\x06\x00\x00\x00\x01"))


# ---------------------------------------------------------------------------------------------------- over TCP


async def test_latency_delays_each_answer_of_that_meter_only() -> None:
    fleet = _fleet(Fault(FaultKind.LATENCY, latency_ms=150, jitter_ms=50))
    async with run_fleet(fleet, objects=big_objects) as server:
        peer = GuruxPeer(gurux_client(fleet.meters[0]), await _open(server, fleet.meters[0]))
        started = time.monotonic()
        await peer.associate()
        assert (await peer.read_basics())[0] == NOW  # 5 answers, each 100-200 ms late
        assert time.monotonic() - started >= 0.5
        await _healthy_meter_answers(server, fleet)


async def test_a_meter_that_never_answers_accepts_and_reads_but_stays_silent() -> None:
    fleet = _fleet(Fault(FaultKind.NO_ANSWER))
    async with run_fleet(fleet, objects=big_objects) as server:
        wire = await _open(server, fleet.meters[0])
        await wire.send(bytes(gurux_client(fleet.meters[0]).aarqRequest()[0]))
        assert await _silent(wire)  # the HES's response timeout fires; the socket is still open
        await _healthy_meter_answers(server, fleet)
        assert await _silent(wire, 0.1)


async def test_a_late_answer_comes_after_the_hes_gave_up() -> None:
    fleet = _fleet(Fault(FaultKind.LATE_ANSWER, delay_s=0.8))
    async with run_fleet(fleet, objects=big_objects) as server:
        wire = await _open(server, fleet.meters[0])
        client = gurux_client(fleet.meters[0])
        started = time.monotonic()
        await wire.send(bytes(client.aarqRequest()[0]))
        assert await _silent(wire, 0.3)  # a HES with a 0.3 s timeout has given up
        await _healthy_meter_answers(server, fleet)
        stale = await wire.receive()
        assert time.monotonic() - started >= 0.8
        assert WrapperFramer().receive_data(stale)[0].apdu[0] == 0x61  # the AARE, too late


async def test_garbage_is_no_frame_a_hes_can_parse() -> None:
    fleet = _fleet(Fault(FaultKind.GARBAGE))
    async with run_fleet(fleet, objects=big_objects) as server:
        wire = await _open(server, fleet.meters[0])
        client = gurux_client(fleet.meters[0])
        await wire.send(bytes(client.aarqRequest()[0]))
        garbage = await wire.receive()
        with pytest.raises(RemoteProtocolError, match="wrapper version"):
            WrapperFramer().receive_data(garbage)
        try:
            complete = client.getData(GXByteBuffer(garbage), GXReplyData(), None)
        except Exception:  # gurux refuses it outright (or, with other octets, keeps waiting for a frame)
            complete = False
        assert not complete
        await _healthy_meter_answers(server, fleet)


async def test_a_truncated_answer_leaves_the_hes_waiting_for_the_rest() -> None:
    fleet = _fleet(Fault(FaultKind.TRUNCATED))
    async with run_fleet(fleet, objects=big_objects) as server:
        wire = await _open(server, fleet.meters[0])
        await wire.send(bytes(gurux_client(fleet.meters[0]).aarqRequest()[0]))
        half = await wire.receive()
        framer = WrapperFramer()
        assert framer.receive_data(half) == [] and framer.buffered == len(half)  # an incomplete frame
        assert await _silent(wire)  # the rest never comes: the HES times out
        await _healthy_meter_answers(server, fleet)


@pytest.mark.parametrize("transport", [Transport.WRAPPER, Transport.HDLC])
async def test_the_connection_drops_in_the_middle_of_a_long_answer(transport: Transport) -> None:
    fleet = _fleet(Fault(FaultKind.DROP_MID_BLOCK), transport=transport)
    async with run_fleet(fleet, objects=big_objects) as server:
        client = gurux_client(fleet.meters[0])
        client.maxReceivePDUSize = 256  # the value needs 4 GET blocks over the wrapper; 128-octet HDLC segments
        peer = GuruxPeer(client, await _open(server, fleet.meters[0]))
        await peer.associate()  # short answers are not affected
        assert (await peer.read_basics())[2] == fleet.meters[0].meter_number
        with pytest.raises(ConnectionError, match="closed"):
            await peer.read(GXDLMSData(BIG), 2)
        await _healthy_meter_answers(server, fleet)
        healthy = GuruxPeer(gurux_client(fleet.meters[1]), await _open(server, fleet.meters[1]))
        healthy.client.maxReceivePDUSize = 256
        await healthy.associate()
        assert bytes(await healthy.read(GXDLMSData(BIG), 2)) == BIG_VALUE


async def test_a_drop_mid_block_also_finds_blocks_in_ciphered_answers() -> None:
    fleet = _fleet(Fault(FaultKind.DROP_MID_BLOCK), auth=Authentication.HLS_GMAC)
    async with run_fleet(fleet, objects=big_objects) as server:
        client = gurux_client(fleet.meters[0])
        client.maxReceivePDUSize = 256
        peer = GuruxPeer(client, await _open(server, fleet.meters[0]))
        await peer.associate()
        with pytest.raises(ConnectionError, match="closed"):
            await peer.read(GXDLMSData(BIG), 2)
        await _healthy_meter_answers(server, fleet)


@pytest.mark.parametrize("auth", [Authentication.LLS, Authentication.HLS_GMAC])
async def test_a_meter_with_a_wrong_secret_rejects_the_hes(auth: Authentication) -> None:
    fleet = _fleet(Fault(FaultKind.WRONG_SECRET), auth=auth)
    async with run_fleet(fleet, objects=big_objects) as server:
        wire = await _open(server, fleet.meters[0])
        peer = GuruxPeer(gurux_client(fleet.meters[0]), wire)  # set up from the spec, as the secrets file says
        with pytest.raises(GXDLMSException) as caught, contextlib.redirect_stdout(io.StringIO()):
            await peer.associate()
        # The AARE: rejected-permanent (1), diagnostic authentication-failure (13).
        assert (int(caught.value.result), int(caught.value.diagnostic)) == (1, 13)
        assert await _silent(wire, 0.1)  # rejected on the wire, the connection stays usable
        await _healthy_meter_answers(server, fleet)
        spec, meter = fleet.meters[0], server.meters[fleet.meters[0].meter_number]
        config = meter.clients[spec.client_sap]
        if auth is Authentication.LLS:
            assert config.lls_password is not None and config.lls_password != spec.lls_password
        else:
            assert config.keys is not None and config.keys.encryption_key != spec.encryption_key


async def test_a_slow_meter_sends_its_octets_one_by_one() -> None:
    fleet = _fleet(Fault(FaultKind.SLOW, ms_per_byte=8))
    async with run_fleet(fleet, objects=big_objects) as server:
        wire = await _open(server, fleet.meters[0])
        await wire.send(bytes(gurux_client(fleet.meters[0]).aarqRequest()[0]))
        started, received, framer = time.monotonic(), b"", WrapperFramer()
        while not framer.receive_data(chunk := await wire.receive()):
            received += chunk
        received += chunk
        assert time.monotonic() - started >= 0.8 * 8 * (len(received) - 2) / 1000
        await _healthy_meter_answers(server, fleet)


async def test_a_flapping_meter_refuses_every_other_connection() -> None:
    fleet = _fleet(Fault(FaultKind.FLAPPING, period_s=0, every_other=True))
    async with run_fleet(fleet, objects=big_objects) as server:
        for attempt in range(4):
            wire = await _open(server, fleet.meters[0])
            if attempt % 2:
                assert await _closed(wire)
                continue
            peer = GuruxPeer(gurux_client(fleet.meters[0]), wire)
            await peer.associate()
            assert (await peer.read_basics())[2] == fleet.meters[0].meter_number
            await wire.close()
        await _healthy_meter_answers(server, fleet)


async def test_a_flapping_meter_closes_each_connection_after_its_period() -> None:
    fleet = _fleet(Fault(FaultKind.FLAPPING, period_s=0.4, every_other=False))
    limits = ServerLimits(inactivity_timeout=30)
    async with run_fleet(fleet, objects=big_objects, limits=limits) as server:
        peer = GuruxPeer(gurux_client(fleet.meters[0]), await _open(server, fleet.meters[0]))
        started = time.monotonic()
        await peer.associate()
        assert isinstance(peer.wire, StreamWire) and await _closed(peer.wire)
        assert 0.3 <= time.monotonic() - started < 5
        await _healthy_meter_answers(server, fleet)


async def test_faults_of_hdlc_meters_on_the_shared_port_hit_only_that_meter() -> None:
    fleet = _fleet(Fault(FaultKind.NO_ANSWER), transport=Transport.HDLC)
    async with run_fleet(fleet, objects=big_objects) as server:
        wire = await _open(server, fleet.meters[0])
        await wire.send(bytes(gurux_client(fleet.meters[0]).snrmRequest()))
        assert await _silent(wire)
        # The same connection still reaches the healthy meter on the line.
        peer = GuruxPeer(gurux_client(fleet.meters[1]), wire)
        await peer.associate()
        assert (await peer.read_basics())[2] == fleet.meters[1].meter_number
