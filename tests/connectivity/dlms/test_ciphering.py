"""gurux's two defects, neutralised: a tampered, replayed, downgraded or unprotected answer is refused, and
nothing is printed.

The sans-IO tests tamper with the octets a simulated meter answers before the client sees them; the TCP test puts
a tampering proxy between a session and a meter of a running fleet.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest

from hes.connectivity.dlms import (
    CipheringError,
    ClientLimits,
    DlmsClient,
    DlmsSession,
    ObjectReference,
    SessionState,
    Timeouts,
    ciphering,
)
from hes.simulator.fleet import fleet_from_options
from hes.simulator.meter import MeterConnection
from hes.simulator.server import build_meters, run_fleet
from tests.connectivity.dlms.meters import CLOCK, ENERGY_IMPORT, TamperingProxy, drive, link_for, sans_io_connection

HEADER = 8  # wrapper header
_TIMEOUTS = Timeouts(connect=2, response=2, release=1)


def _ciphered_client(ciphering_mode: str = "service-specific") -> tuple[DlmsClient, MeterConnection]:
    fleet = fleet_from_options(1, brand="idis", auth="hls", ciphering=ciphering_mode, base_port=0)
    (spec,) = fleet.meters
    connection = sans_io_connection(build_meters(fleet)[0], spec)
    client = DlmsClient(link_for(spec))
    drive(client, connection, client.associate())
    return client, connection


def _flip(position: int) -> Callable[[bytes], bytes]:
    def flip(frame: bytes) -> bytes:
        return frame[:position] + bytes((frame[position] ^ 0x01,)) + frame[position + 1 :]

    return flip


# In a glo-get-response frame: header, tag CC, length, SC, IC (4), ciphertext ..., tag (12).
FIRST_CIPHERTEXT_OCTET = HEADER + 2 + 5


@pytest.mark.parametrize(
    "tamper",
    [_flip(FIRST_CIPHERTEXT_OCTET), _flip(-1), _flip(-12), _flip(HEADER + 2), _flip(HEADER + 3)],
    ids=["ciphertext", "last-tag-octet", "first-tag-octet", "security-control", "invocation-counter"],
)
def test_a_tampered_ciphered_answer_is_refused_not_decoded(
    tamper: Callable[[bytes], bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    client, connection = _ciphered_client()
    exchange = client.get([ObjectReference(8, CLOCK, 2)])
    answer = connection.receive_data(exchange.request)
    assert answer[HEADER] == 0xCC  # glo-get-response
    with pytest.raises(CipheringError):
        client.receive_data(tamper(answer))
    assert client.state is SessionState.ERROR
    assert capsys.readouterr().out == ""


def test_the_untampered_answer_decodes_and_general_glo_ciphering_too(capsys: pytest.CaptureFixture[str]) -> None:
    for mode in ("service-specific", "general"):
        client, connection = _ciphered_client(mode)
        (result,) = drive(client, connection, client.get([ObjectReference(3, ENERGY_IMPORT, 3)]))
        assert result.value == (0, 30)
    assert capsys.readouterr().out == ""  # stock gurux prints "Encryption is applied." for each of these


def test_a_replayed_answer_is_refused() -> None:
    client, connection = _ciphered_client()
    exchange = client.get([ObjectReference(8, CLOCK, 2)])
    first = connection.receive_data(exchange.request)
    client.receive_data(first)
    again = client.get([ObjectReference(8, CLOCK, 2)])
    connection.receive_data(again.request)  # the meter's real answer is dropped; the old one is replayed
    with pytest.raises(CipheringError, match="replayed answer"):
        client.receive_data(first)


def test_an_unprotected_answer_in_a_ciphered_association_is_refused() -> None:
    client, connection = _ciphered_client()
    exchange = client.get([ObjectReference(8, CLOCK, 2)])
    connection.receive_data(exchange.request)
    plain = bytes.fromhex("c401c100090c") + bytes(12)  # a plain get-response with a date-time
    forged = bytes.fromhex("000100010001") + len(plain).to_bytes(2, "big") + plain
    with pytest.raises(CipheringError, match="unprotected answer 0xc4"):
        client.receive_data(forged)


def test_an_answer_downgraded_to_encryption_only_is_refused() -> None:
    client, connection = _ciphered_client()
    exchange = client.get([ObjectReference(8, CLOCK, 2)])
    answer = connection.receive_data(exchange.request)
    content = answer[HEADER + 2 : -12]  # SC, IC, ciphertext; the tag dropped
    downgraded = bytes((0x20,)) + content[1:]  # SC: encryption only, nothing to verify
    apdu = bytes((0xCC, len(downgraded))) + downgraded
    with pytest.raises(CipheringError, match="without authentication"):
        client.receive_data(answer[:6] + len(apdu).to_bytes(2, "big") + apdu)


def test_gurux_prints_go_to_the_debug_log_and_lines_naming_a_key_are_dropped(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    from gurux_dlms import GXDLMSClient  # type: ignore[import-untyped]

    ciphering.install()  # idempotent: already installed by the client module
    module_globals = GXDLMSClient.parseApplicationAssociationResponse.__globals__
    with caplog.at_level(logging.DEBUG, logger="hes.connectivity.dlms.ciphering"):
        module_globals["print"]("Server did not accept CtoS.")
        module_globals["print"]("Private signing key: 0011")
    assert capsys.readouterr().out == ""
    assert [record.getMessage() for record in caplog.records] == ["gurux: Server did not accept CtoS."]


async def test_a_session_through_a_tampering_proxy_ends_with_a_ciphering_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    fleet = fleet_from_options(2, brand="idis", auth="hls", base_port=0)
    tampered, healthy = fleet.meters
    async with asyncio.timeout(20), run_fleet(fleet) as server:
        endpoint = server.endpoints[tampered.meter_number]

        def rewrite(index: int, frame: bytes) -> bytes:
            # Frames 0 and 1 are the AARE and the HLS answer; the tag of every later answer gets one octet flipped.
            return frame if index < 2 else _flip(-1)(frame)

        async with TamperingProxy(endpoint.host, endpoint.port, rewrite).running() as proxy:
            link = link_for(tampered, proxy.port)
            session = await DlmsSession.connect(link, _TIMEOUTS)
            with pytest.raises(CipheringError, match="tag does not verify"):
                await session.read_clock()
            assert session.state is SessionState.ERROR
            await session.close()
        port = server.endpoints[healthy.meter_number].port
        async with DlmsSession.connect(link_for(healthy, port), _TIMEOUTS, limits=ClientLimits()) as other:
            assert (await other.read_registers([ENERGY_IMPORT]))[0].ok
    assert capsys.readouterr().out == ""
