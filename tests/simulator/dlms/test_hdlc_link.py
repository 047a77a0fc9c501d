"""Tests of the meter-side HDLC link: driven by gurux-dlms's client, and frame by frame for every state-table row."""

import pytest
from gurux_dlms import GXByteBuffer, GXDLMSClient, GXReplyData
from gurux_dlms.enums import Authentication, InterfaceType
from gurux_dlms.objects import GXDLMSData

from hes.simulator.dlms.errors import LocalProtocolError, RemoteProtocolError
from hes.simulator.dlms.hdlc_frame import (
    LLC_COMMAND,
    FrameKind,
    HdlcAddress,
    HdlcFrame,
    decode_frame,
    encode_frame,
    i_control,
    s_control,
    u_control,
)
from hes.simulator.dlms.hdlc_link import (
    _TRANSITIONS,
    ApduReceived,
    HdlcLink,
    HdlcParameters,
    LinkConnected,
    LinkDisconnected,
    LinkState,
)

SERVER = HdlcAddress(1)
CLIENT = HdlcAddress(0x10)
# An AARE accepting an LN association without security (IEC 62056-5-3 / Green Book example).
AARE = bytes.fromhex("6129a109060760857405080101a203020100a305a103020100be10040e0800065f1f040000101d04000007")


def gurux_client(server_address: int = 1) -> GXDLMSClient:
    """A gurux HDLC client, public client 16."""
    return GXDLMSClient(True, 0x10, server_address, Authentication.NONE, None, InterfaceType.HDLC)


def gurux_reply(client: GXDLMSClient, link: HdlcLink) -> GXReplyData:
    """Feed the link's output to gurux, fetching every segment with RR as gurux's reader loop does."""
    reply = GXReplyData()
    data = link.data_to_send()
    while True:
        assert client.getData(GXByteBuffer(data), reply, None), data.hex()
        if not reply.isMoreData():
            return reply
        assert link.receive_data(bytes(client.receiverReady(reply))) == []
        data = link.data_to_send()


def connect(link: HdlcLink, client: GXDLMSClient) -> list[object]:
    """SNRM/UA between gurux and the link; returns the link's events."""
    events = link.receive_data(bytes(client.snrmRequest()))
    client.parseUAResponse(gurux_reply(client, link).data)
    return list(events)


def associate(link: HdlcLink, client: GXDLMSClient) -> None:
    """Connect, then carry gurux's AARQ and our AARE."""
    connect(link, client)
    (aarq,) = client.aarqRequest()
    assert [type(event) for event in link.receive_data(bytes(aarq))] == [ApduReceived]
    link.send_apdu(AARE)
    client.parseAareResponse(gurux_reply(client, link).data)


def frame(control: int, information: bytes = b"", segmented: bool = False, source: HdlcAddress = CLIENT) -> bytes:
    """A frame from a client to the meter at SERVER."""
    return encode_frame(HdlcFrame(SERVER, source, control, information, segmented))


def sent(link: HdlcLink) -> list[HdlcFrame]:
    """The frames the link queued, decoded."""
    raw = link.data_to_send()
    frames = []
    while raw:
        length = int.from_bytes(raw[1:3], "big") & 0x7FF
        frames.append(decode_frame(raw[1 : 1 + length]))
        raw = raw[length + 2 :]
    return frames


def connected_link(**kwargs: int) -> HdlcLink:
    """A link after a default SNRM from CLIENT, output drained."""
    link = HdlcLink(SERVER, **kwargs)
    link.receive_data(frame(u_control(FrameKind.SNRM, True)))
    link.data_to_send()
    return link


# ------------------------------------------------------------------------------------------------ with gurux


def test_snrm_is_answered_with_ua_and_parameters_gurux_accepts() -> None:
    link = HdlcLink(SERVER)
    client = gurux_client()

    events = connect(link, client)

    assert events == [LinkConnected(0x10, HdlcParameters(128, 128, 1, 1))]
    assert link.state is LinkState.NRM
    assert (client.hdlcSettings.maxInfoTX, client.hdlcSettings.maxInfoRX) == (128, 128)


def test_negotiation_takes_the_lesser_of_proposal_and_capability() -> None:
    link = HdlcLink(SERVER, max_info_transmit=512, max_info_receive=256)
    client = gurux_client()
    client.hdlcSettings.maxInfoTX = 1024  # the client would send 1024, we take 256
    client.hdlcSettings.maxInfoRX = 300  # the client takes 300, we could send 512
    client.hdlcSettings.windowSizeTX = 7
    client.hdlcSettings.windowSizeRX = 7

    (event,) = connect(link, client)

    assert event == LinkConnected(0x10, HdlcParameters(300, 256, 1, 1))
    assert client.hdlcSettings.maxInfoTX == 256
    assert client.hdlcSettings.maxInfoRX == 300
    assert (client.hdlcSettings.windowSizeTX, client.hdlcSettings.windowSizeRX) == (1, 1)


def test_aarq_i_frame_arrives_intact_and_aare_is_parsed_by_gurux() -> None:
    link = HdlcLink(SERVER)
    client = gurux_client()
    connect(link, client)
    (aarq,) = client.aarqRequest()

    events = link.receive_data(bytes(aarq))

    assert events == [ApduReceived(0x10, decode_frame(bytes(aarq)[1:-1]).information[len(LLC_COMMAND) :])]
    assert events[0].apdu[0] == 0x60
    assert link.data_to_send() == b""  # the poll is held for the application's answer
    link.send_apdu(AARE)
    client.parseAareResponse(gurux_reply(client, link).data)


def test_long_reply_is_segmented_one_frame_per_rr_and_reassembled_by_gurux() -> None:
    link = HdlcLink(SERVER)
    client = gurux_client()
    associate(link, client)
    (request,) = client.read(GXDLMSData("0.0.42.0.0.255"), 2)
    (event,) = link.receive_data(bytes(request))
    assert isinstance(event, ApduReceived) and event.apdu[:3] == b"\xc0\x01\xc1"
    value = bytes(range(256)) * 2
    link.send_apdu(b"\xc4\x01\xc1\x00\x09\x82" + len(value).to_bytes(2, "big") + value)

    first = link.data_to_send()
    assert first[1] & 0x08  # segmentation bit
    assert link.data_to_send() == b""  # nothing more until the client polls with RR
    reply = GXReplyData()
    assert client.getData(GXByteBuffer(first), reply, None)
    segments = 1
    while reply.isMoreData():
        link.receive_data(bytes(client.receiverReady(reply)))
        (segment,) = sent_raw(link)
        assert len(decode_frame(segment[1:-1]).information) <= 128
        assert client.getData(GXByteBuffer(segment), reply, None)
        segments += 1

    assert segments == 5  # 3 + 520 octets in information fields of at most 128
    assert bytes(reply.value) == value


def sent_raw(link: HdlcLink) -> list[bytes]:
    """The frames the link queued, as octets."""
    return [encode_frame(queued) for queued in sent(link)]


def test_segmented_request_is_acknowledged_with_rr_and_reassembled() -> None:
    link = HdlcLink(SERVER)
    client = gurux_client()
    client.hdlcSettings.maxInfoTX = 40  # a small information field makes gurux segment its SET request
    associate(link, client)
    data = GXDLMSData("0.0.42.0.0.255")
    data.value = "A" * 150
    frames = [bytes(raw) for raw in client.write(data, 2)]
    assert len(frames) > 1

    events = []
    for raw in frames:
        events += link.receive_data(raw)
        if raw is not frames[-1]:
            (answer,) = sent(link)
            assert answer.kind is FrameKind.RR
            assert client.getData(GXByteBuffer(encode_frame(answer)), GXReplyData(), None)

    (event,) = events
    assert isinstance(event, ApduReceived)
    expected = b"".join(decode_frame(raw[1:-1]).information for raw in frames)
    assert event.apdu == expected[len(LLC_COMMAND) :]
    assert event.apdu.endswith(b"A" * 150)


def test_gurux_accepts_our_sequence_numbers_across_wrap_around() -> None:
    link = HdlcLink(SERVER)
    client = gurux_client()
    associate(link, client)
    register = GXDLMSData("0.0.42.0.0.255")

    for n in range(12):  # N(S)/N(R) are modulo 8
        (request,) = client.read(register, 2)
        (event,) = link.receive_data(bytes(request))
        assert isinstance(event, ApduReceived) and event.apdu[0] == 0xC0
        link.send_apdu(bytes.fromhex("c401c10011") + bytes((n,)))
        client.updateValue(register, 2, gurux_reply(client, link).value)
        assert register.value == n


def test_disc_is_answered_with_ua_and_dm_when_not_connected() -> None:
    link = HdlcLink(SERVER)
    client = gurux_client()
    associate(link, client)

    events = link.receive_data(bytes(client.disconnectRequest()))

    assert events == [LinkDisconnected(0x10)]
    assert link.state is LinkState.NDM
    assert [answer.kind for answer in sent(link)] == [FrameKind.UA]
    link.receive_data(bytes(client.disconnectRequest(True)))
    (answer,) = sent(link)
    assert answer.kind is FrameKind.DM and answer.poll_final


@pytest.mark.parametrize(("upper", "lower", "size"), [(1, 17, 2), (1, 0x1234, 4)])
def test_two_and_four_octet_server_addresses_with_gurux(upper: int, lower: int, size: int) -> None:
    link = HdlcLink(HdlcAddress(upper, lower, size))
    client = gurux_client(GXDLMSClient.getServerAddress(upper, lower))
    client.settings.serverAddressSize = size

    associate(link, client)

    assert link.client == CLIENT


# ------------------------------------------------------------------------------------------------ parameters


@pytest.mark.parametrize(
    ("information", "reason"),
    [
        ("8180", "not an HDLC parameter group"),
        ("828003050180", "not an HDLC parameter group"),  # format identifier
        ("818103050180", "not an HDLC parameter group"),  # group identifier
        ("818004050180", "group length"),
        ("818003090180", "unknown SNRM parameter"),
        ("81800705050000000080", "bad length"),  # 5-octet value
        ("8180020501", "bad length"),  # value missing
        ("81800105", "truncated"),
        ("818003050110", "below 32"),  # max information field 16
        ("818006070400000000", "window size 0"),
    ],
)
def test_bad_snrm_parameters_get_dm_and_a_remote_error(information: str, reason: str) -> None:
    link = HdlcLink(SERVER)

    with pytest.raises(RemoteProtocolError, match=reason):
        link.receive_data(frame(u_control(FrameKind.SNRM, True), bytes.fromhex(information)))

    assert link.state is LinkState.NDM
    assert [answer.kind for answer in sent(link)] == [FrameKind.DM]


@pytest.mark.parametrize("size", [31, 2031])
def test_capability_must_be_within_the_standard_range(size: int) -> None:
    with pytest.raises(ValueError):
        HdlcLink(SERVER, max_info_transmit=size)


# ------------------------------------------------------------------------------------------------ sequencing


def test_i_frame_sequence_numbers_and_rr_keepalive() -> None:
    link = connected_link()

    (event,) = link.receive_data(frame(i_control(0, 0, True), LLC_COMMAND + b"\xc0\x01"))
    link.send_apdu(b"\xc4\x01")
    (answer,) = sent(link)
    assert (answer.kind, answer.send_sequence, answer.receive_sequence, answer.poll_final) == (FrameKind.I, 0, 1, True)
    assert answer.information == b"\xe6\xe7\x00\xc4\x01"

    link.receive_data(frame(s_control(FrameKind.RR, 1, True)))  # keep-alive acknowledging our frame
    (answer,) = sent(link)
    assert (answer.kind, answer.receive_sequence) == (FrameKind.RR, 1)

    (event,) = link.receive_data(frame(i_control(1, 1, True), LLC_COMMAND + b"\xc0\x02"))
    assert event == ApduReceived(0x10, b"\xc0\x02")
    link.acknowledge()  # nothing to answer: RR releases the poll
    (answer,) = sent(link)
    assert (answer.kind, answer.receive_sequence) == (FrameKind.RR, 2)


def test_sequence_numbers_wrap_modulo_8() -> None:
    link = connected_link()
    for n in range(10):
        (event,) = link.receive_data(frame(i_control(n % 8, n % 8, True), LLC_COMMAND + bytes((n,))))
        assert event == ApduReceived(0x10, bytes((n,)))
        link.send_apdu(b"\xc4")
        (answer,) = sent(link)
        assert (answer.send_sequence, answer.receive_sequence) == (n % 8, (n + 1) % 8)


def test_lost_answer_is_sent_again_when_the_client_repeats_its_request() -> None:
    link = connected_link()
    request = frame(i_control(0, 0, True), LLC_COMMAND + b"\xc0\x01")
    link.receive_data(request)
    link.send_apdu(b"\xc4\x01\x02")
    answer = link.data_to_send()

    assert link.receive_data(request) == []  # the same frame again: the client never saw our answer

    assert link.data_to_send() == answer


def test_out_of_sequence_i_frame_is_dropped_and_answered_with_rr() -> None:
    link = connected_link()

    assert link.receive_data(frame(i_control(3, 0, True), LLC_COMMAND + b"\xc0")) == []

    (answer,) = sent(link)
    assert (answer.kind, answer.receive_sequence) == (FrameKind.RR, 0)


def test_rr_without_acknowledgement_repeats_our_segment() -> None:
    link = connected_link()
    link.receive_data(frame(i_control(0, 0, True), LLC_COMMAND + b"\xc0"))
    link.send_apdu(bytes(300))
    first = link.data_to_send()

    link.receive_data(frame(s_control(FrameKind.RR, 0, True)))  # N(R) 0: our segment did not arrive

    assert link.data_to_send() == first


def test_rnr_is_answered_with_rr_and_holds_our_segments() -> None:
    link = connected_link()
    link.receive_data(frame(i_control(0, 0, True), LLC_COMMAND + b"\xc0"))
    link.send_apdu(bytes(300))
    sent(link)

    link.receive_data(frame(s_control(FrameKind.RNR, 1, True)))
    (answer,) = sent(link)
    assert answer.kind is FrameKind.RR

    link.receive_data(frame(s_control(FrameKind.RR, 1, True)))
    (answer,) = sent(link)
    assert (answer.kind, answer.send_sequence, answer.segmented) == (FrameKind.I, 1, True)


def test_a_new_request_abandons_the_rest_of_a_segmented_answer() -> None:
    link = connected_link()
    link.receive_data(frame(i_control(0, 0, True), LLC_COMMAND + b"\xc0"))
    link.send_apdu(bytes(300))
    sent(link)

    (event,) = link.receive_data(frame(i_control(1, 1, True), LLC_COMMAND + b"\xc0\x02"))

    assert event.apdu == b"\xc0\x02"
    link.send_apdu(b"\xc4")  # no longer "still being sent"
    (answer,) = sent(link)
    assert (answer.send_sequence, answer.segmented) == (1, False)


# ------------------------------------------------------------------------------------------------ refusals


def test_invalid_nr_gets_frmr_z_and_the_reject_condition_holds_until_snrm() -> None:
    link = connected_link()

    with pytest.raises(RemoteProtocolError, match="N\\(R\\)"):
        link.receive_data(frame(i_control(0, 5, True), LLC_COMMAND + b"\xc0"))

    (answer,) = sent(link)
    assert answer.kind is FrameKind.FRMR
    assert answer.information == bytes((i_control(0, 5, True), 0x00, 0x08))
    assert link.state is LinkState.FRMR
    link.receive_data(frame(s_control(FrameKind.RR, 0, True)))
    assert [answer.kind for answer in sent(link)] == [FrameKind.FRMR]
    (event,) = link.receive_data(frame(u_control(FrameKind.SNRM, True)))
    assert isinstance(event, LinkConnected) and link.state is LinkState.NRM


@pytest.mark.parametrize(
    ("control", "information", "reason_bit"),
    [
        (u_control(FrameKind.UA, True), b"", 0x01),  # a response where a command belongs
        (s_control(FrameKind.REJ, 0, True), b"", 0x01),  # not implemented
        (0x2F, b"", 0x01),  # undefined
        (s_control(FrameKind.RR, 0, True), b"\x00", 0x02),  # RR carries no information
    ],
)
def test_unacceptable_frames_get_frmr(control: int, information: bytes, reason_bit: int) -> None:
    link = connected_link()

    with pytest.raises(RemoteProtocolError):
        link.receive_data(frame(control, information))

    (answer,) = sent(link)
    assert answer.kind is FrameKind.FRMR and answer.information[2] == reason_bit


def test_information_field_longer_than_negotiated_gets_frmr_y() -> None:
    link = HdlcLink(SERVER, max_info_receive=256)
    link.receive_data(frame(u_control(FrameKind.SNRM, True), bytes.fromhex("818003050140")))  # client sends <= 64
    sent(link)

    with pytest.raises(RemoteProtocolError, match="information field"):
        link.receive_data(frame(i_control(0, 0, True), LLC_COMMAND + bytes(100)))

    assert sent(link)[0].information[2] == 0x04


def test_corrupt_frame_raises_keeps_earlier_events_and_later_frames() -> None:
    link = connected_link()
    good = frame(i_control(0, 0, True), LLC_COMMAND + b"\xc0\x01")
    bad = bytearray(frame(s_control(FrameKind.RR, 0, True)))
    bad[-2] ^= 0xFF
    disc = frame(u_control(FrameKind.DISC, True))

    with pytest.raises(RemoteProtocolError, match="FCS"):
        link.receive_data(good + bytes(bad) + disc)

    assert link.receive_data(b"") == [ApduReceived(0x10, b"\xc0\x01"), LinkDisconnected(0x10)]


def test_frames_for_another_station_are_ignored_and_other_clients_get_dm() -> None:
    link = HdlcLink(HdlcAddress(1, 17, 2))
    other_meter = encode_frame(HdlcFrame(HdlcAddress(1, 18, 2), CLIENT, u_control(FrameKind.SNRM, True)))
    assert link.receive_data(other_meter) == []
    assert link.data_to_send() == b""

    link.receive_data(encode_frame(HdlcFrame(HdlcAddress(1, 17, 2), CLIENT, u_control(FrameKind.SNRM, True))))
    sent(link)
    intruder = encode_frame(HdlcFrame(HdlcAddress(1, 17, 2), HdlcAddress(0x20), s_control(FrameKind.RR, 0, True)))
    assert link.receive_data(intruder) == []
    (answer,) = sent(link)
    assert answer.kind is FrameKind.DM and answer.destination == HdlcAddress(0x20)
    assert answer.source == HdlcAddress(1, 17, 2)


def test_reassembly_past_max_apdu_is_refused_and_its_remaining_segments_dropped() -> None:
    link = connected_link(max_apdu=100)
    link.receive_data(frame(i_control(0, 0, True), LLC_COMMAND + bytes(60), segmented=True))
    sent(link)

    with pytest.raises(RemoteProtocolError, match="longer than 100"):
        link.receive_data(frame(i_control(1, 0, True), bytes(60), segmented=True))
    assert [answer.kind for answer in sent(link)] == [FrameKind.RR]
    assert link.receive_data(frame(i_control(2, 0, True), bytes(10))) == []  # last segment of the refused APDU

    (event,) = link.receive_data(frame(i_control(3, 0, True), LLC_COMMAND + b"\xc0"))
    assert event.apdu == b"\xc0"


def test_apdu_without_llc_header_is_refused() -> None:
    link = connected_link()

    with pytest.raises(RemoteProtocolError, match="LLC"):
        link.receive_data(frame(i_control(0, 0, True), b"\xc0\x01\xc1"))

    assert [answer.kind for answer in sent(link)] == [FrameKind.RR]


def test_send_apdu_rules() -> None:
    with pytest.raises(LocalProtocolError):
        HdlcLink(SERVER).send_apdu(b"\xc4")

    link = connected_link()
    link.send_apdu(bytes(300))
    with pytest.raises(LocalProtocolError, match="still being sent"):
        link.send_apdu(b"\xc4")


def test_reply_waits_for_a_poll() -> None:
    link = connected_link()
    link.send_apdu(b"\xc4\x01")  # no poll held: the meter may not transmit yet
    assert link.data_to_send() == b""

    link.receive_data(frame(s_control(FrameKind.RR, 0, True)))

    (answer,) = sent(link)
    assert answer.kind is FrameKind.I and answer.information.endswith(b"\xc4\x01")


# ------------------------------------------------------------------------------------------------ state table


def _link_in(state: LinkState) -> HdlcLink:
    link = HdlcLink(SERVER)
    if state is not LinkState.NDM:
        link.receive_data(frame(u_control(FrameKind.SNRM, True)))
    if state is LinkState.FRMR:
        with pytest.raises(RemoteProtocolError):
            link.receive_data(frame(0x2F))
    link.data_to_send()
    assert link.state is state
    return link


_SAMPLE: dict[FrameKind, bytes] = {
    FrameKind.SNRM: frame(u_control(FrameKind.SNRM, True)),
    FrameKind.DISC: frame(u_control(FrameKind.DISC, True)),
    FrameKind.I: frame(i_control(0, 0, True), LLC_COMMAND + b"\xc0"),
    FrameKind.RR: frame(s_control(FrameKind.RR, 0, True)),
    FrameKind.RNR: frame(s_control(FrameKind.RNR, 0, True)),
    FrameKind.UI: frame(u_control(FrameKind.UI, False), b"\x0f"),
}

_ANSWER: dict[tuple[LinkState, FrameKind], list[FrameKind]] = {
    (LinkState.NDM, FrameKind.SNRM): [FrameKind.UA],
    (LinkState.NDM, FrameKind.DISC): [FrameKind.DM],
    (LinkState.NDM, FrameKind.I): [FrameKind.DM],
    (LinkState.NDM, FrameKind.RR): [FrameKind.DM],
    (LinkState.NDM, FrameKind.RNR): [FrameKind.DM],
    (LinkState.NDM, FrameKind.UI): [],
    (LinkState.NRM, FrameKind.SNRM): [FrameKind.UA],
    (LinkState.NRM, FrameKind.DISC): [FrameKind.UA],
    (LinkState.NRM, FrameKind.I): [],  # the poll is held for the application
    (LinkState.NRM, FrameKind.RR): [FrameKind.RR],
    (LinkState.NRM, FrameKind.RNR): [FrameKind.RR],
    (LinkState.NRM, FrameKind.UI): [],
    (LinkState.FRMR, FrameKind.SNRM): [FrameKind.UA],
    (LinkState.FRMR, FrameKind.DISC): [FrameKind.UA],
    (LinkState.FRMR, FrameKind.I): [FrameKind.FRMR],
    (LinkState.FRMR, FrameKind.RR): [FrameKind.FRMR],
    (LinkState.FRMR, FrameKind.RNR): [FrameKind.FRMR],
    (LinkState.FRMR, FrameKind.UI): [],
}


def test_answer_table_covers_the_state_table() -> None:
    assert set(_ANSWER) == set(_TRANSITIONS)


@pytest.mark.parametrize(("state", "kind"), sorted(_TRANSITIONS, key=lambda row: (row[0].name, row[1].name)))
def test_every_state_table_row(state: LinkState, kind: FrameKind) -> None:
    link = _link_in(state)

    link.receive_data(_SAMPLE[kind])

    assert link.state is _TRANSITIONS[(state, kind)][1]
    assert [answer.kind for answer in sent(link)] == _ANSWER[(state, kind)]


@pytest.mark.parametrize("kind", [FrameKind.UA, FrameKind.DM, FrameKind.FRMR])
@pytest.mark.parametrize("state", list(LinkState))
def test_rows_missing_from_the_table_are_refused(state: LinkState, kind: FrameKind) -> None:
    link = _link_in(state)

    with pytest.raises(RemoteProtocolError):
        link.receive_data(frame(u_control(kind, True)))

    expected = FrameKind.DM if state is LinkState.NDM else FrameKind.FRMR
    assert [answer.kind for answer in sent(link)] == [expected]
    assert link.state is (LinkState.NDM if state is LinkState.NDM else LinkState.FRMR)
