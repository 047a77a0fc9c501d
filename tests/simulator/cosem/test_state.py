"""The in-memory meter state: keyed by OBIS codes, aware clock, records what clients did."""

from __future__ import annotations

from datetime import datetime

import pytest

from hes.obis import ObisCode
from hes.simulator.cosem import InMemoryMeterState
from hes.simulator.dlms.values import integer
from tests.simulator.cosem.conftest import NOW


def test_values_are_keyed_by_obis_code() -> None:
    state = InMemoryMeterState.of(NOW, {"1-0:1.8.0.255": 5}, {"0-0:96.1.0.255": "A1"}, {"1-0:99.1.0.255": [(NOW,)]})
    assert state.measurement(ObisCode.parse("1.0.1.8.0.255")) == 5.0
    assert state.measurement(ObisCode.parse("1-0:2.8.0.255")) is None
    assert state.data_value(ObisCode.parse("0-0:96.1.0.255")) == "A1"
    assert state.profile_rows(ObisCode.parse("1-0:99.1.0.255"), ()) == [(NOW,)]
    assert state.profile_rows(ObisCode.parse("0-0:99.98.0.255"), ()) == []


def test_the_clock_must_have_a_zone() -> None:
    with pytest.raises(ValueError, match="time zone"):
        InMemoryMeterState.of(datetime(2024, 5, 1, 12, 0))
    with pytest.raises(ValueError, match="not an OBIS code"):
        InMemoryMeterState.of(NOW, {"energy": 1.0})


def test_changes_are_remembered() -> None:
    state = InMemoryMeterState.of(NOW)
    obis = ObisCode.parse("0-0:96.3.10.255")
    state.set_relay_connected(False)
    state.attribute_written(obis, 4, integer(1))
    state.method_invoked(obis, 1, None)
    assert state.relay_connected() is False
    assert (state.writes, state.invocations) == ([(obis, 4, integer(1))], [(obis, 1, None)])
