"""The sans-IO client core against the simulator's sans-IO meter: real frames, no sockets."""

from __future__ import annotations

import pytest

from hes.connectivity.dlms import (
    DONE,
    NEED_DATA,
    ClientLimits,
    DataAccessResult,
    DlmsClient,
    DlmsData,
    FramingError,
    LimitExceeded,
    LocalDlmsError,
    LocalProtocolError,
    ObjectReference,
    Send,
    SessionState,
)
from hes.obis.codes import ObisCode
from hes.simulator.fleet import FleetSpec, MeterSpec, fleet_from_options
from hes.simulator.meter import MeterConnection
from hes.simulator.server import build_meters
from tests.connectivity.dlms.meters import CLOCK, ENERGY_IMPORT, LOAD_PROFILE, drive, link_for, sans_io_connection

UNDEFINED = ObisCode.parse("1-0:99.99.99.255")


def _meter(transport: str = "wrapper", auth: str = "none") -> tuple[FleetSpec, MeterSpec, MeterConnection]:
    fleet = fleet_from_options(1, brand="idis", transport=transport, auth=auth, base_port=0)
    (spec,) = fleet.meters
    return fleet, spec, sans_io_connection(build_meters(fleet)[0], spec)


def test_association_walks_the_state_table_on_hdlc_with_hls() -> None:
    _, spec, connection = _meter("hdlc", "hls")
    client = DlmsClient(link_for(spec))
    assert client.state.value == "idle"
    exchange = client.associate()
    states = [client.state]
    frame = exchange.request
    while (step := client.receive_data(connection.receive_data(frame))) is not DONE:
        assert isinstance(step, Send)
        states.append(client.state)
        frame = step.data
    states.append(client.state)
    assert states == [
        SessionState.CONNECTING,  # SNRM sent
        SessionState.ASSOCIATING,  # UA received, AARQ sent
        SessionState.AUTHENTICATING,  # AARE accepted, f(StoC) sent
        SessionState.ASSOCIATED,
    ]
    assert client.invocation_counter > 1  # the AARQ and the HLS action each used one
    drive(client, connection, client.release())
    assert client.state is SessionState.CLOSED


def test_an_answer_fed_one_octet_at_a_time_needs_data_until_its_last_octet() -> None:
    _, spec, connection = _meter()
    client = DlmsClient(link_for(spec))
    drive(client, connection, client.associate())
    exchange = client.get([ObjectReference(8, CLOCK, 2)])
    answer = connection.receive_data(exchange.request)
    assert [client.receive_data(answer[i : i + 1]) for i in range(len(answer) - 1)] == [NEED_DATA] * (len(answer) - 1)
    assert client.receive_data(answer[-1:]) is DONE
    (result,) = exchange.result()
    assert result.ok and isinstance(result.value, bytes) and len(result.value) == 12


def test_a_get_with_list_answers_each_attribute_and_marks_the_refused_one() -> None:
    _, spec, connection = _meter()
    client = DlmsClient(link_for(spec))
    drive(client, connection, client.associate())
    assert client.multiple_references
    references = [
        ObjectReference(3, ENERGY_IMPORT, 2),
        ObjectReference(3, UNDEFINED, 2),
        ObjectReference(3, ENERGY_IMPORT, 3),
    ]
    results = drive(client, connection, client.get(references))
    assert isinstance(results, list)
    assert [result.reference for result in results] == references
    assert results[0].ok and isinstance(results[0].value, int)
    assert results[1].error is not None and results[1].value is None
    assert results[2].value == (0, 30)  # scaler 0, Wh
    (alone,) = drive(client, connection, client.get([references[1]], with_list=False))
    assert alone.error == DataAccessResult.OBJECT_UNDEFINED


def test_requests_out_of_turn_are_local_errors() -> None:
    _, spec, connection = _meter()
    client = DlmsClient(link_for(spec))
    with pytest.raises(LocalProtocolError, match="octets received while no request"):
        client.receive_data(b"\x00\x01")
    with pytest.raises(LocalProtocolError, match="request is not allowed in state idle"):
        client.get([ObjectReference(8, CLOCK, 2)])
    assert client.state is SessionState.ERROR

    client = DlmsClient(link_for(spec))
    drive(client, connection, client.associate())
    pending = client.get([ObjectReference(8, CLOCK, 2)])
    with pytest.raises(LocalDlmsError, match="another request is waiting"):
        client.get([ObjectReference(8, CLOCK, 2)])
    assert client.state is SessionState.ASSOCIATED  # the exchange in flight goes on
    assert client.receive_data(connection.receive_data(pending.request)) is DONE


def test_garbage_in_place_of_an_answer_ends_the_session() -> None:
    _, spec, connection = _meter()
    client = DlmsClient(link_for(spec))
    drive(client, connection, client.associate())
    client.get([ObjectReference(8, CLOCK, 2)])
    with pytest.raises(FramingError):
        client.receive_data(b"\x93\x11garbage")
    assert client.state is SessionState.ERROR and not client.busy


def test_an_answer_in_more_blocks_than_the_limit_ends_the_session() -> None:
    _, spec, connection = _meter()
    client = DlmsClient(link_for(spec), ClientLimits(max_receive_pdu=64, max_round_trips=1))
    drive(client, connection, client.associate())
    with pytest.raises(LimitExceeded, match="more than 1 blocks"):
        drive(client, connection, client.get([ObjectReference(7, LOAD_PROFILE, 3)]))  # capture objects: 3 blocks
    assert client.state is SessionState.ERROR


def test_an_answer_longer_than_the_limit_ends_the_session() -> None:
    _, spec, connection = _meter()
    client = DlmsClient(link_for(spec), ClientLimits(max_receive_pdu=64, max_answer_octets=100))
    drive(client, connection, client.associate())
    with pytest.raises(LimitExceeded, match="longer than 100 octets"):
        drive(client, connection, client.get([ObjectReference(7, LOAD_PROFILE, 3)]))


def test_a_wrapper_frame_longer_than_the_pdu_proposed_is_refused_before_decoding() -> None:
    _, spec, connection = _meter()
    client = DlmsClient(link_for(spec), ClientLimits(max_receive_pdu=64))
    drive(client, connection, client.associate())
    client.get([ObjectReference(8, CLOCK, 2)])
    oversized = bytes.fromhex("00010001000100ff")  # announces 255 octets: more than 64 + ciphering overhead
    with pytest.raises(LimitExceeded, match="255 octets"):
        client.receive_data(oversized)


def test_a_set_longer_than_one_hdlc_frame_goes_in_segments_and_reads_back() -> None:
    _, spec, connection = _meter("hdlc")
    client = DlmsClient(link_for(spec))  # 128-octet information fields both ways
    drive(client, connection, client.associate())
    push_objects = ObjectReference(40, ObisCode.parse("0-0:25.9.0.255"), 2)
    captured = [ObisCode.parse(f"1-0:{c}.8.0.255") for c in range(1, 9)]
    entries = [
        DlmsData.structure(
            DlmsData.long_unsigned(3), DlmsData.octets(code.to_bytes()), DlmsData.integer(2), DlmsData.long_unsigned(0)
        )
        for code in captured
    ]
    value = DlmsData.array(*entries)
    exchange = client.set(push_objects, value)
    assert len(exchange.request) < 140  # the first of several I-frames
    drive(client, connection, exchange)
    (result,) = drive(client, connection, client.get([push_objects]))
    assert result.value == tuple((3, code.to_bytes(), 2, 0) for code in captured)
