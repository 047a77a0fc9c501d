"""Cutting wrapper and HDLC frames out of an octet stream: byte vectors only, no sockets."""

from __future__ import annotations

import pytest

from hes.connectivity.dlms.errors import FramingError, LimitExceeded
from hes.connectivity.dlms.framing import Frame, HdlcFramer, WrapperFramer

# A wrapper frame (wPort 1 -> 16) carrying a get-response: C4 01 C1 00 06 00 00 00 01 (value 1).
GET_RESPONSE = bytes.fromhex("c401c1000600000001")
WRAPPED = bytes.fromhex("0001 0001 0010 0009") + GET_RESPONSE
# HDLC frames captured from the simulator: the UA answering an SNRM, and an I-frame carrying a get-response
# (LLC E6 E7 00, then C4 01 C1 00 11 00: unsigned 0).
UA = bytes.fromhex("7ea01f030221737342818012050180060180070400000001080400000001533b7e")
I_FRAME = bytes.fromhex("7ea01303022152c805e6e700c401c10011001b4d7e")


def hdlc(body: bytes) -> bytes:
    """`body` (addresses to FCS) between flags, with the frame format field giving its length."""
    return b"\x7e" + (0xA000 | (len(body) + 2)).to_bytes(2, "big") + body + b"\x7e"


def test_a_wrapper_frame_comes_out_whole_however_the_octets_arrive() -> None:
    framer = WrapperFramer(max_apdu=1024)
    assert framer.receive_data(WRAPPED) == [Frame(WRAPPED, 0xC4)]
    for cut in (1, 2, 7, 8, 12):
        framer = WrapperFramer(max_apdu=1024)
        assert framer.receive_data(WRAPPED[:cut]) == []
        assert framer.buffered == cut
        assert framer.receive_data(WRAPPED[cut:]) == [Frame(WRAPPED, 0xC4)]
        assert framer.buffered == 0
    assert WrapperFramer(1024).receive_data(b"") == []


def test_several_wrapper_frames_in_one_read_and_one_split_over_reads() -> None:
    framer = WrapperFramer(max_apdu=1024)
    frames = framer.receive_data(WRAPPED + WRAPPED + WRAPPED[:5])
    assert [frame.data for frame in frames] == [WRAPPED, WRAPPED]
    assert framer.receive_data(WRAPPED[5:]) == [Frame(WRAPPED, 0xC4)]
    empty = bytes.fromhex("0001000100100000")
    assert WrapperFramer(1024).receive_data(empty) == [Frame(empty, None)]


@pytest.mark.parametrize("garbage", [b"\x80\x01", b"\x00\x02", b"\xff", b"\x7e\xa0\x07"])
def test_octets_that_cannot_start_a_wrapper_frame_are_refused_at_once(garbage: bytes) -> None:
    framer = WrapperFramer(max_apdu=1024)
    if len(garbage) == 1:
        assert framer.receive_data(garbage) == []  # one octet cannot tell yet
        garbage = b"\x01"
    with pytest.raises(FramingError, match="wrapper version"):
        framer.receive_data(garbage)


def test_a_wrapper_frame_longer_than_the_limit_is_refused_from_its_header() -> None:
    header = bytes.fromhex("000100010010") + (1025).to_bytes(2, "big")
    with pytest.raises(LimitExceeded, match="1025 octets"):
        WrapperFramer(max_apdu=1024).receive_data(header)
    assert WrapperFramer(max_apdu=1025).receive_data(header) == []  # at the limit: waits for the rest


def test_hdlc_frames_whole_split_and_back_to_back_with_shared_or_extra_flags() -> None:
    framer = HdlcFramer(max_frame=200)
    assert framer.receive_data(UA) == [Frame(UA, None)]  # a U-frame carries no APDU
    for cut in (1, 2, 3, 10, len(UA) - 1):
        framer = HdlcFramer(max_frame=200)
        assert framer.receive_data(UA[:cut]) == []
        assert framer.receive_data(UA[cut:]) == [Frame(UA, None)]
    framer = HdlcFramer(max_frame=200)
    frames = framer.receive_data(b"\x7e\x7e" + UA + UA[1:])  # an extra flag, then a closing flag shared
    assert [frame.data for frame in frames] == [UA, UA]


def test_an_i_frame_names_the_apdu_it_starts_and_a_continuation_segment_none() -> None:
    framer = HdlcFramer(max_frame=200)
    assert framer.receive_data(I_FRAME) == [Frame(I_FRAME, 0xC4)]
    # The same frame with the segmentation bit: the next I-frame continues its APDU, so it starts none.
    segmented = I_FRAME[:1] + bytes((I_FRAME[1] | 0x08,)) + I_FRAME[2:]
    framer = HdlcFramer(max_frame=200)
    assert [frame.apdu_tag for frame in framer.receive_data(segmented + I_FRAME + I_FRAME)] == [0xC4, None, 0xC4]


@pytest.mark.parametrize(
    ("octets", "message"),
    [
        (b"\x00\x7e", "must start a frame"),
        (b"\x7e\xb0\x10", "not type 3"),
        (b"\x7e\xa0\x03", "shorter than any frame"),
        (UA[:-1] + b"\x00", "not closed by a flag"),
        (hdlc(b"\x02\x02\x02\x02\x02\x01\x03\x10\x00\x00"), "malformed HDLC address"),
        (hdlc(b"\x03\x02\x02\x02\x02\x02\x10\x00\x00"), "malformed HDLC address"),
    ],
)
def test_hdlc_garbage_is_refused_at_once(octets: bytes, message: str) -> None:
    with pytest.raises(FramingError, match=message):
        HdlcFramer(max_frame=200).receive_data(octets)


def test_an_hdlc_frame_longer_than_the_limit_is_refused_from_its_format_field() -> None:
    with pytest.raises(LimitExceeded, match="more than the 30 accepted"):
        HdlcFramer(max_frame=30).receive_data(UA[:3])
