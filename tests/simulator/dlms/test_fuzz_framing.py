"""Fuzzing of the decoders a peer can reach: random and mutated octets may only raise RemoteProtocolError.

Covered: axdr.decode_data, WrapperFramer.receive_data, HdlcFrameReader and HdlcLink.receive_data. For the link,
frames are also built with a correct FCS around random control fields and contents, so they get past the frame
check and exercise the state machine. Time is bounded by hypothesis's deadline and a large-input test.
"""

import contextlib
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hes.simulator.dlms.axdr import decode_data, encode_data
from hes.simulator.dlms.errors import LocalProtocolError, RemoteProtocolError
from hes.simulator.dlms.hdlc_frame import (
    LLC_COMMAND,
    FrameKind,
    HdlcAddress,
    HdlcFrame,
    HdlcFrameReader,
    encode_frame,
    i_control,
    s_control,
    u_control,
)
from hes.simulator.dlms.hdlc_link import HdlcLink, LinkState
from hes.simulator.dlms.values import BitString, Data, DataType, array, long_unsigned, octets, structure, unsigned
from hes.simulator.dlms.wrapper import WrapperFramer

FUZZ = settings(max_examples=300, deadline=1000, suppress_health_check=[HealthCheck.too_slow])

SAMPLES = [
    encode_data(
        array(
            structure(long_unsigned(3), octets(bytes([1, 0, 1, 8, 0, 255])), unsigned(2), long_unsigned(0)),
            structure(Data(DataType.UTF8_STRING, "é"), Data(DataType.BIT_STRING, BitString(9, b"\xff\x80"))),
        )
    ),
    encode_data(Data(DataType.DATE_TIME, bytes.fromhex("07e80305020d040543ffc400"))),
    encode_data(Data(DataType.FLOAT64, 1.5)),
]


@st.composite
def mutated(draw: st.DrawFn, samples: list[bytes]) -> bytes:
    """One of `samples` with a few octets flipped, inserted, deleted or truncated."""
    raw = bytearray(draw(st.sampled_from(samples)))
    for _ in range(draw(st.integers(1, 4))):
        operation = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        position = draw(st.integers(0, max(len(raw) - 1, 0)))
        if operation == "flip" and raw:
            raw[position] ^= draw(st.integers(1, 255))
        elif operation == "insert":
            raw.insert(position, draw(st.integers(0, 255)))
        elif operation == "delete" and raw:
            del raw[position]
        else:
            del raw[position:]
    return bytes(raw)


# ------------------------------------------------------------------------------------------------ A-XDR


@FUZZ
@given(st.binary(max_size=512) | mutated(SAMPLES), st.integers(0, 4))
def test_decode_data_raises_only_remote_errors(raw: bytes, offset: int) -> None:
    try:
        value, end = decode_data(raw, offset)
    except RemoteProtocolError:
        return
    assert offset < end <= len(raw)
    assert encode_data(value)  # whatever decodes can be encoded again


# ------------------------------------------------------------------------------------------------ wrapper


def _wrapper_samples() -> list[bytes]:
    framer = WrapperFramer()
    return [framer.frame(0x10, 0x01, b"\xc0\x01\xc1\x00\x01\x00\x00\x2a\x00\x00\xff\x02\x00"), framer.frame(1, 16, b"")]


@FUZZ
@given(st.lists(st.binary(max_size=64) | mutated(_wrapper_samples()), max_size=8))
def test_wrapper_framer_raises_only_remote_errors(chunks: list[bytes]) -> None:
    framer = WrapperFramer(max_apdu=256)
    for chunk in chunks:
        try:
            for received in framer.receive_data(chunk):
                assert len(received.apdu) <= 256
        except RemoteProtocolError:
            return
        assert framer.buffered < 8 + 256


# ------------------------------------------------------------------------------------------------ HDLC

SERVER = HdlcAddress(1)
CLIENT = HdlcAddress(0x10)
_HDLC_SAMPLES = [
    encode_frame(HdlcFrame(SERVER, CLIENT, u_control(FrameKind.SNRM, True))),
    encode_frame(HdlcFrame(SERVER, CLIENT, u_control(FrameKind.SNRM, True), bytes.fromhex("818006050140060140"))),
    encode_frame(HdlcFrame(SERVER, CLIENT, i_control(0, 0, True), LLC_COMMAND + b"\xc0\x01\xc1\x00\x08")),
    encode_frame(HdlcFrame(SERVER, CLIENT, i_control(0, 0, True), LLC_COMMAND + bytes(40), segmented=True)),
    encode_frame(HdlcFrame(SERVER, CLIENT, s_control(FrameKind.RR, 1, True))),
    encode_frame(HdlcFrame(SERVER, CLIENT, u_control(FrameKind.DISC, True))),
]

addresses = st.sampled_from([SERVER, CLIENT, HdlcAddress(1, 17, 2), HdlcAddress(0x20), HdlcAddress(1, 0x1234, 4)])
# Frames with a correct HCS/FCS around arbitrary contents: they reach the state machine.
checked_frames = st.builds(
    lambda destination, source, control, information, segmented: encode_frame(
        HdlcFrame(destination, source, control, information, segmented)
    ),
    st.sampled_from([SERVER, SERVER, HdlcAddress(1, 17, 2), HdlcAddress(2)]),
    addresses,
    st.integers(0, 255),
    st.binary(max_size=150) | st.just(LLC_COMMAND + b"\xc0\x01") | st.sampled_from([b"", b"\x81\x80\x00"]),
    st.booleans(),
)
chunks = st.binary(max_size=64) | mutated(_HDLC_SAMPLES) | checked_frames | st.sampled_from(_HDLC_SAMPLES)


@FUZZ
@given(st.lists(chunks, max_size=10))
def test_hdlc_reader_raises_only_remote_errors(parts: list[bytes]) -> None:
    reader = HdlcFrameReader(max_info_field=128)
    for part in parts:
        reader.receive_data(part)
        for _ in range(len(part) + 2):  # each call consumes at least one octet or returns None
            try:
                if reader.next_frame() is None:
                    break
            except RemoteProtocolError:
                continue
        assert reader.buffered <= 128 + 15 + 2


@FUZZ
@given(st.lists(st.tuples(chunks, st.sampled_from(["none", "reply", "long reply", "ack"])), max_size=12))
def test_hdlc_link_raises_only_remote_errors(steps: list[tuple[bytes, str]]) -> None:
    link = HdlcLink(SERVER, max_apdu=256)
    for chunk, action in steps:
        data = chunk
        for _ in range(len(chunk) + 2):  # drain: after an error the rest of the chunk is still buffered
            try:
                link.receive_data(data)
                break
            except RemoteProtocolError:
                data = b""
        try:
            if action == "reply":
                link.send_apdu(b"\xc4\x01\xc1\x00\x11\x05")
            elif action == "long reply":
                link.send_apdu(bytes(400))
            elif action == "ack":
                link.acknowledge()
        except LocalProtocolError:
            # Documented: send_apdu while disconnected or while the previous APDU is still going out.
            assert link.state is not LinkState.NRM or link._segments
        out = link.data_to_send()
        assert out == b"" or out[0] == 0x7E


def _drain(link: HdlcLink, data: bytes) -> int:
    """Feed `data`, carrying on after each error as a tolerant driver would; returns the number of errors."""
    errors = 0
    while True:
        try:
            link.receive_data(data)
            return errors
        except RemoteProtocolError:
            errors += 1
            data = b""


def test_large_hostile_inputs_take_bounded_time() -> None:
    started = time.perf_counter()
    link = HdlcLink(SERVER)
    assert link.receive_data(b"\x7e" * 200_000) == []
    assert link.receive_data(bytes(200_000)) == []
    errors = _drain(link, b"\x7e\xa0" * 50_000)  # every "7E A0 7E" opens a frame that has no closing flag
    assert 0 < errors <= 50_000
    framer = WrapperFramer()
    assert len(framer.receive_data(framer.frame(0x10, 0x01, b"\xc0\x01") * 20_000)) == 20_000
    nested = b"\x01\x81\xff" + b"\x00" * 255
    for _ in range(1000):
        decode_data(nested)
    with contextlib.suppress(RemoteProtocolError):
        decode_data(b"\x02\x01" * 10_000)
    assert time.perf_counter() - started < 5
