"""What collection reads per brand comes from the brand lists: registers, logs, billing, load profile channel."""

from __future__ import annotations

from hes.connectivity.catalogue import (
    DEFAULT_BRAND,
    billing_profiles,
    capture_period,
    event_logs,
    has_load_profile,
    main_registers,
    profile_channel,
    profile_name,
)
from hes.obis.codes import ObisCode


def test_main_registers_are_energy_with_tou_rates_and_instantaneous_values_of_the_brand() -> None:
    idis = {str(code) for code in main_registers("idis")}
    assert {"1-0:1.8.0.255", "1-0:1.8.4.255", "1-0:2.8.0.255", "1-0:32.7.0.255", "1-0:71.7.0.255"} <= idis
    assert {"1-0:14.7.0.255", "1-0:13.7.0.255", "0-0:96.5.0.255"} <= idis
    assert not idis & {"1-0:1.7.0.255", "1-0:1.6.0.255", "0-0:96.1.0.255"}  # power, demand, serial: not polled
    hexcell = {str(code) for code in main_registers("hexcell")}
    assert {"1-0:9.8.2.255", "1-0:15.8.0.255", "1-0:91.7.0.255", "1-0:12.7.0.255"} <= hexcell
    assert all(code.endswith(".255") for code in hexcell)  # current values, no billing periods


def test_event_logs_billing_and_load_profile_follow_the_lists() -> None:
    assert [str(code) for code in event_logs("idis")] == [
        "0-0:99.98.0.255", "0-0:99.98.1.255", "0-0:99.98.2.255", "0-0:99.97.0.255",
    ]  # fmt: skip
    hexcell_logs = {str(code) for code in event_logs("hexcell")}
    assert "1-0:99.98.42.255" in hexcell_logs and "1-0:99.98.84.255" not in hexcell_logs  # no clock: not by date
    assert [str(code) for code in billing_profiles("hexing")] == ["0-0:98.2.0.255", "0-0:98.1.0.255"]
    assert billing_profiles("hexcell") == ()
    assert has_load_profile("hexcell") and capture_period("hexcell") == 900
    assert profile_channel("idis") == ObisCode.parse("1-0:1.8.0.255")
    assert profile_channel("hexcell") == ObisCode.parse("1-0:32.7.0.255")


def test_a_brand_without_a_list_is_read_with_the_generic_profile() -> None:
    assert profile_name("Hexing") == "hexing" and profile_name(" HEXCELL ") == "hexcell"
    assert profile_name("Acme") == profile_name(None) == DEFAULT_BRAND
