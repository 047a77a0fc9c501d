"""Faulty meters over real TCP: each fault ends that session with its typed error within the timeout given, while
a healthy meter read at the same time completes untouched."""

from __future__ import annotations

import asyncio
import socket
from datetime import timedelta

import pytest

from hes.connectivity.dlms import (
    AssociationRejected,
    ClientLimits,
    ConnectionLost,
    DlmsError,
    DlmsSession,
    DlmsTimeout,
    FramingError,
    LimitExceeded,
    MeterUnreachable,
    SourceDiagnostic,
    Timeouts,
)
from hes.simulator.faults import Fault, FaultKind
from hes.simulator.fleet import Authentication, FleetSpec, MeterGroup, MeterSpec, Transport, build_fleet
from hes.simulator.server import FleetServer, run_fleet
from tests.connectivity.dlms.meters import ENERGY_IMPORT, LOAD_PROFILE, link_for, server_link

_TIMEOUTS = Timeouts(connect=2, response=0.5, release=0.5)
_LIMITS = ClientLimits(max_receive_pdu=512)  # the day of load profile comes in GET blocks
_BOUND = 15.0  # seconds a test may take before it fails instead of hanging


def _fleet(
    fault: Fault, auth: Authentication = Authentication.NONE, transport: Transport = Transport.WRAPPER
) -> FleetSpec:
    """A faulty meter (first) and a healthy one (second)."""
    groups = [MeterGroup(1, "idis", transport, auth, (fault,)), MeterGroup(1, "idis", transport, auth)]
    return build_fleet(groups, seed=3, base_port=0)


async def _full_read(server: FleetServer, spec: MeterSpec, limits: ClientLimits = _LIMITS) -> int:
    """Associate, read clock, a register and a day of load profile, release; the number of profile rows."""
    async with DlmsSession.connect(server_link(server, spec), _TIMEOUTS, limits=limits) as session:
        clock = await session.read_clock()
        assert (await session.read_registers([ENERGY_IMPORT]))[0].ok
        end = clock.meter_time
        return len((await session.read_profile(LOAD_PROFILE, end - timedelta(days=1), end)).rows)


async def _failure(server: FleetServer, spec: MeterSpec, limits: ClientLimits = _LIMITS) -> DlmsError:
    try:
        await _full_read(server, spec, limits)
    except DlmsError as error:
        return error
    raise AssertionError("the faulty meter's session did not fail")


async def _faulty_and_healthy(fleet: FleetSpec, limits: ClientLimits = _LIMITS) -> DlmsError:
    """Read both meters at once: the faulty one's error, after checking the healthy one got its whole day."""
    faulty, healthy = fleet.meters
    async with asyncio.timeout(_BOUND), run_fleet(fleet) as server:
        error, rows = await asyncio.gather(_failure(server, faulty, limits), _full_read(server, healthy))
    assert 95 <= rows <= 96
    return error


@pytest.mark.parametrize(
    "fault",
    [Fault(FaultKind.NO_ANSWER), Fault(FaultKind.LATE_ANSWER, delay_s=3), Fault(FaultKind.TRUNCATED)],
    ids=str,
)
async def test_a_meter_that_leaves_its_answer_unfinished_times_out(fault: Fault) -> None:
    error = await _faulty_and_healthy(_fleet(fault))
    assert isinstance(error, DlmsTimeout) and "0.5 s" in error.message


async def test_a_slow_meter_times_out_when_its_answer_outlasts_the_response_timeout() -> None:
    error = await _faulty_and_healthy(_fleet(Fault(FaultKind.SLOW, ms_per_byte=40)))
    assert isinstance(error, DlmsTimeout)


@pytest.mark.parametrize("transport", list(Transport), ids=str)
async def test_garbage_ends_the_session_at_once(transport: Transport) -> None:
    error = await _faulty_and_healthy(_fleet(Fault(FaultKind.GARBAGE), transport=transport))
    assert isinstance(error, FramingError)


@pytest.mark.parametrize("transport", list(Transport), ids=str)
async def test_a_connection_dropped_in_the_middle_of_a_block_transfer(transport: Transport) -> None:
    error = await _faulty_and_healthy(_fleet(Fault(FaultKind.DROP_MID_BLOCK), transport=transport))
    assert isinstance(error, ConnectionLost)


@pytest.mark.parametrize("auth", [Authentication.LLS, Authentication.HLS_GMAC], ids=str)
async def test_a_wrong_password_or_key_is_an_association_rejected_for_authentication(auth: Authentication) -> None:
    error = await _faulty_and_healthy(_fleet(Fault(FaultKind.WRONG_SECRET), auth=auth))
    assert isinstance(error, AssociationRejected)
    assert (error.result, error.code) == (1, SourceDiagnostic.AUTHENTICATION_FAILURE)


async def test_a_flapping_meter_that_hangs_up_at_once_is_a_lost_connection() -> None:
    fleet = _fleet(Fault(FaultKind.FLAPPING, period_s=0, every_other=True))
    faulty, healthy = fleet.meters
    async with asyncio.timeout(_BOUND), run_fleet(fleet) as server:
        assert await _full_read(server, faulty) >= 95  # the first connection is served
        error, rows = await asyncio.gather(_failure(server, faulty), _full_read(server, healthy))
    assert isinstance(error, ConnectionLost) and rows >= 95


async def test_an_answer_past_a_limit_ends_only_that_session() -> None:
    error = await _faulty_and_healthy(
        _fleet(Fault(FaultKind.LATENCY, latency_ms=1, jitter_ms=0)),
        ClientLimits(max_receive_pdu=512, max_round_trips=2),
    )
    assert isinstance(error, LimitExceeded)


async def test_an_unreachable_meter() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    fleet = _fleet(Fault(FaultKind.NO_ANSWER))
    async with asyncio.timeout(_BOUND):
        with pytest.raises(MeterUnreachable, match=f"127.0.0.1:{port}"):
            await DlmsSession.connect(link_for(fleet.meters[0], port), _TIMEOUTS)


async def test_a_replayed_or_low_invocation_counter_is_refused_by_the_meter() -> None:
    fleet = _fleet(Fault(FaultKind.LATENCY, latency_ms=1, jitter_ms=0), auth=Authentication.HLS_GMAC)
    spec = fleet.meters[0]
    async with asyncio.timeout(_BOUND), run_fleet(fleet) as server:
        async with DlmsSession.connect(server_link(server, spec, invocation_counter=50), _TIMEOUTS) as session:
            await session.read_clock()
        persisted = session.invocation_counter
        assert persisted > 50
        for stale in (1, 50, persisted - 1):
            with pytest.raises(AssociationRejected) as refused:
                await DlmsSession.connect(server_link(server, spec, invocation_counter=stale), _TIMEOUTS)
            assert refused.value.code == SourceDiagnostic.AUTHENTICATION_FAILURE
        async with DlmsSession.connect(server_link(server, spec, invocation_counter=persisted), _TIMEOUTS) as again:
            assert (await again.read_registers([ENERGY_IMPORT]))[0].ok


async def test_a_request_cancelled_by_the_caller_still_closes_the_session() -> None:
    fleet = _fleet(Fault(FaultKind.LATENCY, latency_ms=300, jitter_ms=0))
    spec = fleet.meters[0]
    async with asyncio.timeout(_BOUND), run_fleet(fleet) as server:
        timeouts = Timeouts(connect=2, response=5, release=5)
        async with DlmsSession.connect(server_link(server, spec), timeouts) as session:
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.1):  # the caller's own deadline, inside one request
                    await session.read_clock()
        # No release is attempted over a connection with an answer still in flight: it is hung up.
        assert session.state.value == "closed" and session.stats.round_trips == 1  # the AARQ's; no RLRQ followed
