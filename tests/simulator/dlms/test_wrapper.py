"""Tests of the IEC 62056-47 wrapper framer, with frames made and parsed by gurux-dlms's client."""

import pytest
from gurux_dlms import GXByteBuffer, GXDLMSClient, GXReplyData
from gurux_dlms.enums import Authentication, InterfaceType

from hes.simulator.dlms.errors import LocalProtocolError, RemoteProtocolError
from hes.simulator.dlms.wrapper import DEFAULT_MAX_APDU, HEADER_SIZE, WrapperFrame, WrapperFramer

CLIENT_WPORT = 0x10  # public client
SERVER_WPORT = 0x01  # management logical device
# An AARE accepting an LN association without security (IEC 62056-5-3 / Green Book example).
AARE = bytes.fromhex("6129a109060760857405080101a203020100a305a103020100be10040e0800065f1f040000101d04000007")


def gurux_client() -> GXDLMSClient:
    """A gurux client on the wrapper, public client (16) to the management logical device (1)."""
    return GXDLMSClient(True, CLIENT_WPORT, SERVER_WPORT, Authentication.NONE, None, InterfaceType.WRAPPER)


def aarq_frame() -> bytes:
    """gurux's AARQ, as it goes on the wire."""
    (frame,) = gurux_client().aarqRequest()
    return bytes(frame)


def test_gurux_aarq_frame_is_parsed() -> None:
    raw = aarq_frame()

    frames = WrapperFramer().receive_data(raw)

    assert frames == [WrapperFrame(CLIENT_WPORT, SERVER_WPORT, raw[HEADER_SIZE:])]
    assert frames[0].apdu[0] == 0x60  # AARQ tag
    assert len(frames[0].apdu) == int.from_bytes(raw[6:8], "big")


def test_our_frame_is_parsed_by_gurux() -> None:
    client = gurux_client()
    client.aarqRequest()
    raw = WrapperFramer().frame(SERVER_WPORT, CLIENT_WPORT, AARE)
    reply = GXReplyData()

    assert raw[:HEADER_SIZE] == bytes.fromhex("000100010010002b")
    assert client.getData(GXByteBuffer(raw), reply, None)
    assert bytes(reply.data.array()) == AARE
    client.parseAareResponse(reply.data)
    assert client.maxReceivePDUSize == 1024


def test_partial_input_is_buffered_byte_by_byte() -> None:
    raw = aarq_frame()
    framer = WrapperFramer()

    frames = [frame for octet in raw for frame in framer.receive_data(bytes((octet,)))]

    assert len(frames) == 1 and frames[0].apdu == raw[HEADER_SIZE:]
    assert framer.buffered == 0


def test_coalesced_frames_and_a_trailing_partial_one() -> None:
    framer = WrapperFramer()
    first = framer.frame(0x10, 0x01, b"\xc0\x01\xc1")
    second = framer.frame(0x10, 0x01, b"")
    third = framer.frame(0x20, 0x01, b"\x62\x00")

    assert framer.receive_data(first + second + third[:5]) == [
        WrapperFrame(0x10, 0x01, b"\xc0\x01\xc1"),
        WrapperFrame(0x10, 0x01, b""),
    ]
    assert framer.buffered == 5
    assert framer.receive_data(third[5:]) == [WrapperFrame(0x20, 0x01, b"\x62\x00")]


def test_apdu_of_exactly_the_limit_is_accepted() -> None:
    framer = WrapperFramer(max_apdu=16)

    assert framer.receive_data(framer.frame(1, 2, bytes(16))) == [WrapperFrame(1, 2, bytes(16))]


def test_length_over_the_limit_is_refused_from_the_header_alone() -> None:
    framer = WrapperFramer()
    header = bytes.fromhex("00010010 0001") + (DEFAULT_MAX_APDU + 1).to_bytes(2, "big")

    with pytest.raises(RemoteProtocolError, match="longer than"):
        framer.receive_data(header)


@pytest.mark.parametrize("version", [0x0000, 0x0002, 0xFFFF])
def test_wrong_version_is_refused(version: int) -> None:
    with pytest.raises(RemoteProtocolError, match="version"):
        WrapperFramer().receive_data(version.to_bytes(2, "big") + bytes.fromhex("001000010000"))


def test_a_failed_stream_stays_failed() -> None:
    framer = WrapperFramer()
    with pytest.raises(RemoteProtocolError):
        framer.receive_data(b"\x00\x02" + bytes(6))

    with pytest.raises(RemoteProtocolError, match="already failed"):
        framer.receive_data(aarq_frame())


def test_end_of_stream() -> None:
    framer = WrapperFramer()
    assert framer.receive_data(b"") == []

    framer.receive_data(aarq_frame()[:10])
    with pytest.raises(RemoteProtocolError, match="closed"):
        framer.receive_data(b"")


@pytest.mark.parametrize(
    ("source", "destination", "apdu"),
    [(-1, 1, b""), (0x10000, 1, b""), (1, -1, b""), (1, 0x10000, b""), (1, 1, bytes(0x10000))],
)
def test_unframeable_input_is_a_local_error(source: int, destination: int, apdu: bytes) -> None:
    with pytest.raises(LocalProtocolError):
        WrapperFramer().frame(source, destination, apdu)


@pytest.mark.parametrize("max_apdu", [0, 0x10000])
def test_max_apdu_must_fit_the_length_field(max_apdu: int) -> None:
    with pytest.raises(ValueError):
        WrapperFramer(max_apdu=max_apdu)
