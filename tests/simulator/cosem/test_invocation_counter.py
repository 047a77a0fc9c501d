"""The invocation counter object 0-0:43.1.0.255: in every brand, readable by the public client, never written."""

from __future__ import annotations

import pytest

from hes.obis import load_profile
from hes.simulator.cosem import InMemoryMeterState, MeterObjects
from hes.simulator.cosem.invocation_counter import INVOCATION_COUNTER, expected_invocation_counter
from hes.simulator.dlms.apdu_services import DataAccessResult
from hes.simulator.dlms.association import SecurityState
from hes.simulator.dlms.security_counters import MAX_INVOCATION_COUNTER
from hes.simulator.dlms.values import double_long_unsigned
from tests.simulator.cosem.conftest import MANAGEMENT, PUBLIC

COUNTER = INVOCATION_COUNTER.to_bytes()


@pytest.mark.parametrize(("brand", "client"), [("idis", PUBLIC), ("hexing", PUBLIC), ("hexcell", 0x11)])
def test_every_brand_has_the_counter_and_shows_the_next_acceptable_value(
    brand: str, client: int, state: InMemoryMeterState
) -> None:
    security = SecurityState()
    objects = MeterObjects.build(load_profile(brand), state, client, security=security)
    assert objects.get(1, COUNTER, 2) == double_long_unsigned(0)  # nothing accepted yet: any counter will do
    security.client_guard.accept(41)
    assert objects.get(1, COUNTER, 2) == double_long_unsigned(42)
    assert objects.get(1, COUNTER, 1) is not None
    assert INVOCATION_COUNTER in [spec.obis for spec in objects.visible_objects()]


def test_the_management_client_sees_the_same_counter_and_nobody_writes_it(state: InMemoryMeterState) -> None:
    security = SecurityState()
    security.client_guard.accept(7)
    public = MeterObjects.build(load_profile("idis"), state, PUBLIC, security=security)
    management = public.for_client(MANAGEMENT)
    assert management.get(1, COUNTER, 2) == public.get(1, COUNTER, 2) == double_long_unsigned(8)
    assert public.set(1, COUNTER, 2, None, double_long_unsigned(1)) is DataAccessResult.READ_WRITE_DENIED
    assert public.get(3, COUNTER, 2) is DataAccessResult.OBJECT_CLASS_INCONSISTENT


def test_a_meter_without_counters_shows_zero(meter: MeterObjects) -> None:
    assert meter.get(1, COUNTER, 2) == double_long_unsigned(0)


def test_an_exhausted_counter_shows_its_largest_value() -> None:
    security = SecurityState()
    security.client_guard.accept(MAX_INVOCATION_COUNTER)
    assert expected_invocation_counter(security) == MAX_INVOCATION_COUNTER
