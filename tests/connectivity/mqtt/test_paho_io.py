"""Chunked socket reads under paho: bytes handed out exactly as the wire carried them, no socket needed."""

from __future__ import annotations

import pytest

from hes.connectivity.mqtt.paho_io import ChunkedSocket


class WireStub:
    """A non-blocking socket whose wire holds `chunks`; past them it would block (or the peer closed)."""

    def __init__(self, *chunks: bytes, closed: bool = False) -> None:
        self.chunks = list(chunks)
        self.closed = closed
        self.reads = 0
        self.sent: list[bytes] = []

    def recv(self, size: int) -> bytes:
        self.reads += 1
        if self.chunks:
            chunk = self.chunks.pop(0)
            assert len(chunk) <= size
            return chunk
        if self.closed:
            return b""
        raise BlockingIOError

    def send(self, data: bytes) -> int:
        self.sent.append(data)
        return len(data)


def test_packets_of_one_chunk_are_read_with_one_system_call() -> None:
    wire = WireStub(b"\x30\x05hello\x30\x03abc")
    sock = ChunkedSocket(wire)
    assert [sock.recv(1), sock.recv(1), sock.recv(5)] == [b"\x30", b"\x05", b"hello"]
    assert sock.pending() == 5  # aiomqtt's reader keeps calling paho while bytes are held
    assert [sock.recv(1), sock.recv(1), sock.recv(3)] == [b"\x30", b"\x03", b"abc"]
    assert sock.pending() == 0
    assert wire.reads == 1


def test_a_packet_split_across_chunks_comes_out_whole_in_order() -> None:
    sock = ChunkedSocket(WireStub(b"\x30\x05he", b"llo"))
    assert sock.recv(1) + sock.recv(1) == b"\x30\x05"
    body = sock.recv(5)
    assert body == b"he"  # a short read, as from a socket: paho asks again for the rest
    assert sock.recv(3) == b"llo"


def test_an_empty_wire_raises_as_the_socket_does_and_loses_nothing_held() -> None:
    sock = ChunkedSocket(WireStub(b"ab"))
    assert sock.recv(1) == b"a"
    assert sock.recv(1) == b"b"
    with pytest.raises(BlockingIOError):
        sock.recv(1)
    assert sock.pending() == 0


def test_a_closed_connection_reads_as_end_of_stream() -> None:
    sock = ChunkedSocket(WireStub(b"a", closed=True))
    assert sock.recv(4) == b"a"
    assert sock.recv(4) == b""


def test_everything_but_reading_is_the_socket_s_own() -> None:
    wire = WireStub()
    ChunkedSocket(wire).send(b"\x40\x02\x00\x01")
    assert wire.sent == [b"\x40\x02\x00\x01"]
