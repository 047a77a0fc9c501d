"""The dispatcher over real TCP: priorities, session limits counted by a proxy, retries with back-off, none after
an authentication failure, several jobs of one meter in one session."""

from __future__ import annotations

import asyncio

import pytest

from hes.connectivity.catalogue import CollectionKind, Priority, main_registers
from hes.connectivity.dlms import AssociationRejected, ConnectionLost, DlmsSession, DlmsTimeout
from hes.connectivity.errors import ConnectivityUnavailable
from hes.connectivity.job_queue import MeterJob
from hes.runtime import Runtime
from hes.simulator.faults import Fault, FaultKind
from hes.simulator.fleet import Authentication, FleetSpec, MeterGroup, Transport, build_fleet, fleet_from_options
from hes.simulator.server import run_fleet
from tests.connectivity.fleet import (
    TEST_BOUND,
    ProxyCounts,
    endpoints_of,
    events_of,
    proxied,
    register,
    running,
    settings,
)


def _faulty(fault: Fault, auth: Authentication = Authentication.NONE) -> FleetSpec:
    """One meter with `fault`, on a free port."""
    return build_fleet([MeterGroup(1, "idis", Transport.WRAPPER, auth, (fault,))], seed=5, base_port=0)


async def test_an_on_demand_read_overtakes_a_queued_polling_wave(runtime: Runtime) -> None:
    fleet = fleet_from_options(7, brand="idis", base_port=0, latency_ms=20)
    async with asyncio.timeout(TEST_BOUND), run_fleet(fleet) as server:
        ids = list((await register(runtime, fleet, endpoints_of(server))).values())
        async with running(runtime, settings(max_sessions=1)) as connectivity:
            finished: list[str] = []
            wave = await connectivity.collect(ids[:6], [CollectionKind.REGISTERS])

            async def polled(index: int) -> None:
                await wave[index].result()
                finished.append(f"poll-{index}")

            async def read_now() -> None:
                (target,) = await connectivity.targets([ids[6]])
                values = await connectivity.read(target, list(main_registers("idis"))[:3])
                assert all(value.value is not None for value in values)
                finished.append("read")

            await asyncio.gather(*(polled(index) for index in range(6)), read_now())
    # At most the session already under way when the read was queued finishes before it.
    assert finished.index("read") <= 1, finished


async def test_no_more_sessions_than_the_global_limit(runtime: Runtime) -> None:
    fleet = fleet_from_options(8, brand="idis", base_port=0, latency_ms=40)
    counts = ProxyCounts()
    async with asyncio.timeout(TEST_BOUND), run_fleet(fleet) as server, proxied(server, counts) as addresses:
        ids = list((await register(runtime, fleet, addresses)).values())
        async with running(runtime, settings(max_sessions=3)) as connectivity:
            handles = await connectivity.collect(ids, [CollectionKind.REGISTERS])
            results = [await handle.result() for handle in handles]
            stats = connectivity.stats
    assert all(result.readings > 0 for result in results)
    assert counts.connections == 8 and counts.peak <= 3
    assert stats.peak_sessions == 3  # the limit was reached (8 meters, 40 ms a round trip) and never passed


async def test_no_more_sessions_to_one_host_and_port_than_the_per_target_limit(runtime: Runtime) -> None:
    fleet = fleet_from_options(6, brand="idis", transport="hdlc", base_port=0, latency_ms=40)
    counts = ProxyCounts()
    async with asyncio.timeout(TEST_BOUND), run_fleet(fleet) as server, proxied(server, counts) as addresses:
        assert len(set(addresses.values())) == 1  # the simulator's HDLC meters share one port, like a gateway
        ids = list((await register(runtime, fleet, addresses)).values())
        async with running(runtime, settings(max_sessions_per_target=2)) as connectivity:
            handles = await connectivity.collect(ids, [CollectionKind.REGISTERS])
            results = [await handle.result() for handle in handles]
    assert len(results) == 6 and all(result.readings > 0 for result in results)
    assert counts.connections == 6 and counts.peak == 2


async def test_new_connections_keep_to_the_rate_limit(runtime: Runtime) -> None:
    fleet = fleet_from_options(10, brand="idis", base_port=0)
    counts = ProxyCounts()
    rate, burst = 20.0, 2
    async with asyncio.timeout(TEST_BOUND), run_fleet(fleet) as server, proxied(server, counts) as addresses:
        ids = list((await register(runtime, fleet, addresses)).values())
        async with running(runtime, settings(connections_per_second=rate, connection_burst=burst)) as connectivity:
            handles = await connectivity.collect(ids, [CollectionKind.REGISTERS])
            for handle in handles:
                await handle.result()
            stats = connectivity.stats
    assert counts.connections == stats.connections == 10
    # The bucket grants `burst` at once, then one every 1/rate seconds: 10 connections take at least 8/rate.
    accepted = sorted(counts.accepted_at)
    assert accepted[-1] - accepted[0] >= (10 - burst) / rate * 0.9


async def test_a_flapping_meter_is_retried_after_a_back_off(runtime: Runtime) -> None:
    flapping = Fault(FaultKind.FLAPPING, period_s=0, every_other=True)  # every second connection hangs up at once
    fleet = _faulty(flapping)
    counts = ProxyCounts()
    tuned = settings(retries=2, backoff=0.3, backoff_max=1.0, backoff_jitter=0.5)
    async with asyncio.timeout(TEST_BOUND), run_fleet(fleet) as server, proxied(server, counts) as addresses:
        (meter_id,) = (await register(runtime, fleet, addresses)).values()
        async with running(runtime, tuned) as connectivity:
            (first,) = await connectivity.collect([meter_id], [CollectionKind.REGISTERS])
            assert (await first.result()).readings > 0 and first.attempts == 1
            (second,) = await connectivity.collect([meter_id], [CollectionKind.REGISTERS])
            read = await second.result()
            assert read.readings + read.duplicates > 0  # within the same second as the first: repeats
            await connectivity.recorder.flush()
    assert second.attempts == 2 and counts.connections == 3
    assert counts.accepted_at[2] - counts.accepted_at[1] >= 0.3 * (1 - 0.5)  # the back-off's shortest wait
    (failed,) = await events_of(runtime, meter_id, "communication_failed")
    assert failed.details is not None and failed.details["error"] == ConnectionLost.__name__


async def test_a_meter_that_never_answers_is_tried_retries_plus_one_times(runtime: Runtime) -> None:
    fleet = _faulty(Fault(FaultKind.NO_ANSWER))
    counts = ProxyCounts()
    tuned = settings(retries=2, response_timeout=0.3, backoff=0.05)
    async with asyncio.timeout(TEST_BOUND), run_fleet(fleet) as server, proxied(server, counts) as addresses:
        (meter_id,) = (await register(runtime, fleet, addresses)).values()
        async with running(runtime, tuned) as connectivity:
            (handle,) = await connectivity.collect([meter_id], [CollectionKind.REGISTERS])
            with pytest.raises(DlmsTimeout):
                await handle.result()
            await connectivity.recorder.flush()
    assert handle.attempts == 3 and counts.connections == 3
    events = await events_of(runtime, meter_id, "communication_failed")
    assert [event.details["attempt"] for event in events if event.details] == [1, 2, 3]


@pytest.mark.parametrize("auth", [Authentication.LLS, Authentication.HLS_GMAC], ids=str)
async def test_a_wrong_password_or_key_is_not_retried(runtime: Runtime, auth: Authentication) -> None:
    fleet = _faulty(Fault(FaultKind.WRONG_SECRET), auth)
    counts = ProxyCounts()
    async with asyncio.timeout(TEST_BOUND), run_fleet(fleet) as server, proxied(server, counts) as addresses:
        (meter_id,) = (await register(runtime, fleet, addresses)).values()
        async with running(runtime, settings(retries=2, backoff=0.05)) as connectivity:
            (handle,) = await connectivity.collect([meter_id], [CollectionKind.REGISTERS])
            with pytest.raises(AssociationRejected):
                await handle.result()
    assert handle.attempts == 1
    # LLS: one association. HLS: one more connection, as the public client reading the frame counter, which
    # shows the counter was not behind: no second association.
    assert counts.connections == (1 if auth is Authentication.LLS else 2)


async def test_jobs_queued_for_a_meter_share_its_session(runtime: Runtime) -> None:
    fleet = fleet_from_options(1, brand="idis", base_port=0, latency_ms=20)
    counts = ProxyCounts()
    async with asyncio.timeout(TEST_BOUND), run_fleet(fleet) as server, proxied(server, counts) as addresses:
        (meter_id,) = (await register(runtime, fleet, addresses)).values()
        async with running(runtime) as connectivity:
            (target,) = await connectivity.targets([meter_id])
            order: list[str] = []

            def job(name: str, priority: int) -> MeterJob[None]:
                async def work(session: DlmsSession) -> None:
                    await session.read_clock()
                    order.append(name)

                return MeterJob(name, work, priority=priority)

            handles = [connectivity.submit(target, job(f"poll-{index}", Priority.POLL_PROFILE)) for index in range(3)]
            handles.append(connectivity.submit(target, job("command", Priority.COMMAND)))
            for handle in handles:
                await handle.result()
    assert counts.connections == 1
    assert order[0] == "command" and order[1:] == ["poll-0", "poll-1", "poll-2"]


async def test_a_job_withdrawn_before_it_starts_never_runs_and_stop_fails_the_waiting_ones(runtime: Runtime) -> None:
    fleet = fleet_from_options(1, brand="idis", base_port=0, latency_ms=50)
    async with asyncio.timeout(TEST_BOUND), run_fleet(fleet) as server:
        (meter_id,) = (await register(runtime, fleet, endpoints_of(server))).values()
        async with running(runtime) as connectivity:
            (target,) = await connectivity.targets([meter_id])
            ran: list[str] = []

            def job(name: str) -> MeterJob[None]:
                async def work(session: DlmsSession) -> None:
                    await session.read_clock()
                    ran.append(name)

                return MeterJob(name, work)

            first = connectivity.submit(target, job("first"))
            withdrawn = connectivity.submit(target, job("withdrawn"))
            assert withdrawn.cancel()
            await first.result()
            waiting = connectivity.submit(target, MeterJob("slow", _forever))
            await asyncio.sleep(0.3)
        with pytest.raises(ConnectivityUnavailable):
            await waiting.result()
    assert ran == ["first"]


async def _forever(session: DlmsSession) -> None:
    await asyncio.sleep(3600)
