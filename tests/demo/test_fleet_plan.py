"""The demo fleet's make-up: modes, transports, security, brands, areas and faults, the same for the same options."""

from __future__ import annotations

from collections import Counter

import pytest

from hes.db.enums import ConnectionMode
from hes.demo.fleet_plan import DEMO_AREAS, FAULT_KINDS, plan_fleet
from hes.simulator.faults import FaultKind
from hes.simulator.fleet import Authentication, FleetError, Transport


def test_the_default_fleet_mixes_every_mode_transport_security_brand_and_area() -> None:
    plan = plan_fleet()

    assert len(plan.meters) == 200
    assert plan.counts() == {ConnectionMode.OUTBOUND: 100, ConnectionMode.DIAL_IN: 50, ConnectionMode.PUSH: 50}
    for mode in (ConnectionMode.OUTBOUND, ConnectionMode.DIAL_IN, ConnectionMode.PUSH):
        meters = plan.of_mode(mode)
        assert {meter.spec.authentication for meter in meters} == set(Authentication)
        assert {meter.spec.brand_info.name for meter in meters} == {"Hexing", "Hexcell"}
        assert {meter.area for meter in meters} == set(DEMO_AREAS)
    for mode in (ConnectionMode.OUTBOUND, ConnectionMode.DIAL_IN):
        assert {meter.spec.transport for meter in plan.of_mode(mode)} == set(Transport)


def test_a_few_outbound_wrapper_meters_are_faulty_and_wrong_secrets_have_secrets() -> None:
    plan = plan_fleet()

    assert plan.faulty() == Counter({str(kind): 2 for kind in FAULT_KINDS})
    faulty = [meter for meter in plan.meters if meter.spec.faults]
    assert all(meter.mode is ConnectionMode.OUTBOUND for meter in faulty)
    assert all(meter.spec.transport is Transport.WRAPPER for meter in faulty)
    wrong = [meter for meter in faulty if meter.spec.faults[0].kind is FaultKind.WRONG_SECRET]
    assert all(meter.spec.authentication is not Authentication.NONE for meter in wrong)
    # The first outbound wrapper meters stay healthy, whatever the size.
    assert not plan.of_mode(ConnectionMode.OUTBOUND)[0].spec.faults


def test_the_same_options_give_the_same_meters_numbers_keys_and_ports() -> None:
    first, again = plan_fleet(30, seed=11, base_port=42_000), plan_fleet(30, seed=11, base_port=42_000)

    assert first == again
    ports = [meter.spec.port for meter in first.meters if meter.spec.transport is Transport.WRAPPER]
    assert ports == list(range(42_000, 42_000 + len(ports)))
    assert first.fleet.hdlc_port == 42_000 + len(ports)
    assert plan_fleet(30, seed=12).meters[0].meter_number != first.meters[0].meter_number


def test_a_small_fleet_still_has_every_mode_and_one_fault_of_each_kind() -> None:
    plan = plan_fleet(12, base_port=0)

    assert set(plan.counts()) == {ConnectionMode.OUTBOUND, ConnectionMode.DIAL_IN, ConnectionMode.PUSH}
    assert plan.faulty() == Counter({str(kind): 1 for kind in FAULT_KINDS})
    assert all(meter.spec.port == 0 for meter in plan.meters)
    assert not plan_fleet(5, base_port=0).faulty()


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"meters": 0}, "at least 1 meter, not 0"),
        ({"meters": -3}, "at least 1 meter, not -3"),
        ({"meters": 100_001}, "a fleet has 1-100000 meters"),
        ({"meters": 10, "base_port": 65_530}, "are not all in 1024-65535"),
        ({"meters": 10, "base_port": 80}, "are not all in 1024-65535"),
        ({"meters": 10, "seed": -1}, "the seed is a whole number"),
    ],
)
def test_bad_options_are_refused_with_the_reason(options: dict[str, int], problem: str) -> None:
    with pytest.raises(FleetError) as refused:
        plan_fleet(**options)
    assert any(problem in text for text in refused.value.problems)
