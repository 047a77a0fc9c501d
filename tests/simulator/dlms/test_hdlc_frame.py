"""Tests of the HDLC frame codec, address and control fields, FCS and stream reader, against gurux-dlms frames."""

import pytest
from gurux_dlms import GXDLMSClient
from gurux_dlms.enums import Authentication, InterfaceType
from gurux_dlms.GXDLMS import GXDLMS

from hes.simulator.dlms.errors import LocalProtocolError, RemoteProtocolError
from hes.simulator.dlms.hdlc_frame import (
    LLC_COMMAND,
    FrameKind,
    HdlcAddress,
    HdlcFrame,
    HdlcFrameReader,
    decode_address,
    decode_frame,
    encode_address,
    encode_frame,
    fcs16,
    i_control,
    s_control,
    u_control,
)

SERVER = HdlcAddress(1)
CLIENT = HdlcAddress(0x10)
# gurux-dlms's SNRM from public client 16 to server 1 with default parameters (no information field).
SNRM = bytes.fromhex("7ea0070321930f017e")


def gurux_client(server_address: int = 1, size: int = 0) -> GXDLMSClient:
    """A gurux HDLC client, public client 16."""
    client = GXDLMSClient(True, 0x10, server_address, Authentication.NONE, None, InterfaceType.HDLC)
    if size:
        client.settings.serverAddressSize = size
    return client


def test_fcs_is_crc16_x25() -> None:
    assert fcs16(b"123456789") == 0x906E  # the CRC-16/X.25 check value
    assert fcs16(b"") == 0x0000


def test_snrm_matches_gurux_byte_for_byte() -> None:
    assert bytes(gurux_client().snrmRequest()) == SNRM

    frame = HdlcFrame(SERVER, CLIENT, u_control(FrameKind.SNRM, True))

    assert encode_frame(frame) == SNRM
    assert decode_frame(SNRM[1:-1]) == frame


def test_gurux_i_frame_decodes_with_hcs_and_llc() -> None:
    client = gurux_client()
    client.snrmRequest()
    (raw,) = client.aarqRequest()

    frame = decode_frame(bytes(raw)[1:-1])

    assert (frame.destination, frame.source) == (SERVER, CLIENT)
    assert frame.kind is FrameKind.I and frame.poll_final
    assert (frame.send_sequence, frame.receive_sequence) == (0, 0)
    assert frame.information.startswith(LLC_COMMAND)
    assert frame.information[3] == 0x60  # AARQ
    assert not frame.segmented
    assert encode_frame(frame) == bytes(raw)


@pytest.mark.parametrize(
    ("address", "gurux_value", "size", "octets"),
    [
        (HdlcAddress(1), 1, 1, "03"),
        (HdlcAddress(0x10), 0x10, 1, "21"),
        (HdlcAddress(0x7F), 0x7F, 1, "ff"),
        (HdlcAddress(1, 17, 2), GXDLMSClient.getServerAddress(1, 17), 2, "0223"),
        (HdlcAddress(1, 0x1234, 4), GXDLMSClient.getServerAddress(1, 0x1234), 4, "00024869"),
        (HdlcAddress(0x123, 0x1234, 4), GXDLMSClient.getServerAddress(0x123, 0x1234), 4, "04464869"),
    ],
)
def test_address_field_matches_gurux(address: HdlcAddress, gurux_value: int, size: int, octets: str) -> None:
    raw = encode_address(address)

    assert raw == bytes(GXDLMS.getAddressBytes(gurux_value, size)) == bytes.fromhex(octets)
    assert decode_address(b"\x00" + raw + b"\x99", 1) == (address, 1 + len(raw))


@pytest.mark.parametrize(("raw", "reason"), [("020407", "3-octet"), ("0002040608", "longer than 4"), ("0204", "runs")])
def test_bad_address_field_is_a_remote_error(raw: str, reason: str) -> None:
    with pytest.raises(RemoteProtocolError, match=reason):
        decode_address(bytes.fromhex(raw), 0)


def test_address_parts_and_matching() -> None:
    assert HdlcAddress.server(1) == HdlcAddress(1)
    assert HdlcAddress.server(1, 17) == HdlcAddress(1, 17, 2)
    assert HdlcAddress.server(1, 0x100) == HdlcAddress(1, 0x100, 4)
    meter = HdlcAddress(1, 17, 2)
    assert HdlcAddress(1).addresses(meter)  # point-to-point: no lower part
    assert HdlcAddress(1, 17, 4).addresses(meter)  # same parts, longer form
    assert not HdlcAddress(1, 18, 2).addresses(meter)
    assert not HdlcAddress(2).addresses(meter)


@pytest.mark.parametrize(
    ("upper", "lower", "size"), [(0x80, None, 1), (1, None, 2), (1, 5, 1), (1, 0x80, 2), (0x4000, 1, 4), (1, 1, 3)]
)
def test_impossible_address_is_refused(upper: int, lower: int | None, size: int) -> None:
    with pytest.raises(ValueError):
        HdlcAddress(upper, lower, size)


@pytest.mark.parametrize(
    ("control", "kind"),
    [
        (0x10, FrameKind.I),
        (0xFE, FrameKind.I),
        (0x11, FrameKind.RR),
        (0xF1, FrameKind.RR),
        (0x15, FrameKind.RNR),
        (0x19, FrameKind.REJ),
        (0x1D, FrameKind.SREJ),
        (0x93, FrameKind.SNRM),
        (0x83, FrameKind.SNRM),
        (0x53, FrameKind.DISC),
        (0x73, FrameKind.UA),
        (0x1F, FrameKind.DM),
        (0x97, FrameKind.FRMR),
        (0x13, FrameKind.UI),
        (0x2F, FrameKind.UNKNOWN),
        (0xE3, FrameKind.UNKNOWN),
    ],
)
def test_control_field_kinds(control: int, kind: FrameKind) -> None:
    assert HdlcFrame(SERVER, CLIENT, control).kind is kind


def test_control_builders() -> None:
    frame = HdlcFrame(SERVER, CLIENT, i_control(3, 5, True))
    assert (frame.kind, frame.send_sequence, frame.receive_sequence, frame.poll_final) == (FrameKind.I, 3, 5, True)
    assert s_control(FrameKind.RR, 2, True) == 0x51
    assert s_control(FrameKind.RNR, 0, False) == 0x05
    assert u_control(FrameKind.UA, True) == 0x73
    assert u_control(FrameKind.DM, True) == 0x1F
    assert u_control(FrameKind.DISC, True) == 0x53


def test_segmented_frame_round_trips() -> None:
    frame = HdlcFrame(CLIENT, HdlcAddress(1, 17, 2), i_control(0, 1, True), bytes(range(200)), segmented=True)

    raw = encode_frame(frame)

    assert raw[1] & 0xF8 == 0xA8  # type 3 with the segmentation bit
    assert int.from_bytes(raw[1:3], "big") & 0x7FF == len(raw) - 2
    assert decode_frame(raw[1:-1]) == frame


def test_frame_too_long_for_the_length_field_is_a_local_error() -> None:
    with pytest.raises(LocalProtocolError):
        encode_frame(HdlcFrame(SERVER, CLIENT, i_control(0, 0, True), bytes(2040)))


def _corrupt(raw: bytes, index: int) -> bytes:
    return raw[:index] + bytes((raw[index] ^ 0x01,)) + raw[index + 1 :]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (bytes.fromhex("a00703219301"), "too short"),
        (bytes.fromhex("b0070321930f01"), "not type 3"),
        (bytes.fromhex("a0080321930f01"), "length"),
        (bytes.fromhex("a0070321930f02"), "FCS"),
    ],
)
def test_bad_frame_is_a_remote_error(content: bytes, reason: str) -> None:
    with pytest.raises(RemoteProtocolError, match=reason):
        decode_frame(content)


def test_hcs_mismatch_is_detected_even_with_a_good_fcs() -> None:
    raw = bytearray(encode_frame(HdlcFrame(SERVER, CLIENT, i_control(0, 0, True), b"\xe6\xe6\x00\xc0")))
    raw[6] ^= 0xFF  # HCS octet
    raw[-3:-1] = fcs16(raw[1:-3]).to_bytes(2, "little")

    with pytest.raises(RemoteProtocolError, match="HCS"):
        decode_frame(bytes(raw[1:-1]))


# ------------------------------------------------------------------------------------------------ reader


def _frames(reader: HdlcFrameReader) -> list[HdlcFrame]:
    frames = []
    while (frame := reader.next_frame()) is not None:
        frames.append(frame)
    return frames


def test_reader_skips_octets_before_a_flag_and_idle_flags() -> None:
    reader = HdlcFrameReader()
    reader.receive_data(b"\x00\x13garbage\x7e\x7e\x7e" + SNRM + b"\x7e")

    assert [frame.kind for frame in _frames(reader)] == [FrameKind.SNRM]
    assert reader.buffered <= 1


def test_reader_buffers_a_frame_fed_octet_by_octet() -> None:
    reader = HdlcFrameReader()
    found = []
    for octet in SNRM:
        reader.receive_data(bytes((octet,)))
        found += _frames(reader)

    assert len(found) == 1 and found[0].kind is FrameKind.SNRM


def test_reader_splits_coalesced_frames_with_separate_or_shared_flags() -> None:
    disc = encode_frame(HdlcFrame(SERVER, CLIENT, u_control(FrameKind.DISC, True)))
    reader = HdlcFrameReader()
    reader.receive_data(SNRM + disc + SNRM[1:])  # separate flags, then a flag shared by two frames

    assert [frame.kind for frame in _frames(reader)] == [FrameKind.SNRM, FrameKind.DISC, FrameKind.SNRM]


def test_reader_refuses_a_length_over_its_limit_at_once_and_resynchronises() -> None:
    reader = HdlcFrameReader(max_info_field=32)
    reader.receive_data(b"\x7e\xa7\xff" + SNRM)  # claims 2047 octets

    with pytest.raises(RemoteProtocolError, match="length"):
        reader.next_frame()
    assert [frame.kind for frame in _frames(reader)] == [FrameKind.SNRM]


def test_reader_reports_a_missing_closing_flag_and_recovers() -> None:
    reader = HdlcFrameReader()
    reader.receive_data(SNRM[:-1] + b"\x00" + SNRM)

    with pytest.raises(RemoteProtocolError, match="closing flag"):
        reader.next_frame()
    assert [frame.kind for frame in _frames(reader)] == [FrameKind.SNRM]


def test_reader_drops_a_corrupt_frame_and_keeps_the_next() -> None:
    reader = HdlcFrameReader()
    reader.receive_data(_corrupt(SNRM, 4) + SNRM)

    with pytest.raises(RemoteProtocolError, match="FCS"):
        reader.next_frame()
    assert [frame.kind for frame in _frames(reader)] == [FrameKind.SNRM]


def test_reader_holds_at_most_one_partial_frame() -> None:
    reader = HdlcFrameReader(max_info_field=128)
    reader.receive_data(b"noise " * 1000)
    assert reader.next_frame() is None
    assert reader.buffered == 0

    reader.receive_data(b"\x7e\xa0\x8f" + bytes(100))  # a frame of 143 octets, still incomplete
    assert reader.next_frame() is None
    assert reader.buffered == 103
