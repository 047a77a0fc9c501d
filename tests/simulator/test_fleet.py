"""The fleet definition: deterministic from its seed, ports and addresses laid out, every bad input listed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hes import validation
from hes.simulator.faults import FaultKind, FaultShares
from hes.simulator.fleet import (
    FIRST_PHYSICAL_ADDRESS,
    Authentication,
    Ciphering,
    FleetError,
    MeterGroup,
    Transport,
    build_fleet,
    fleet_from_options,
    with_fault_shares,
)
from hes.simulator.fleet_file import load_fleet_file, parse_fleet


def test_the_same_seed_gives_the_same_fleet_and_another_seed_another() -> None:
    first = fleet_from_options(5, auth="hls", seed=7)
    assert fleet_from_options(5, auth="hls", seed=7) == first
    other = fleet_from_options(5, auth="hls", seed=8)
    assert {m.meter_number for m in other.meters}.isdisjoint(m.meter_number for m in first.meters)
    assert {m.encryption_key for m in other.meters}.isdisjoint(m.encryption_key for m in first.meters)


def test_meters_are_numbered_titled_and_keyed_per_meter() -> None:
    fleet = fleet_from_options(3, brand="hexing", auth="hls", seed=7)
    numbers = [meter.meter_number for meter in fleet.meters]
    assert numbers == ["47007000001", "47007000002", "47007000003"]
    assert all(validation.meter_number(number) == number for number in numbers)
    titles = [meter.system_title for meter in fleet.meters]
    assert len(set(titles)) == 3 and all(title[:3] == b"HXE" and len(title) == 8 for title in titles)
    assert titles[0][3:] == (47007000001).to_bytes(5, "big")
    keys = [key for meter in fleet.meters for key in (meter.encryption_key, meter.authentication_key)]
    assert len(set(keys)) == 6 and all(key is not None and len(key) == 16 for key in keys)
    assert all(meter.lls_password is None and meter.ciphered for meter in fleet.meters)
    assert len({meter.seed for meter in fleet.meters}) == 3


def test_lls_meters_get_a_password_and_no_keys() -> None:
    (meter,) = fleet_from_options(1, brand="hexcell", auth="lls").meters
    assert meter.lls_password is not None and len(meter.lls_password) == 8 and meter.lls_password.isalnum()
    assert meter.encryption_key is None and meter.authentication_key is None and not meter.ciphered
    assert meter.meter_number.startswith("62") and meter.client_sap == 17


def test_wrapper_meters_get_consecutive_ports_and_hdlc_meters_share_the_next_one() -> None:
    fleet = build_fleet(
        [
            MeterGroup(2, "hexing", Transport.WRAPPER, Authentication.NONE),
            MeterGroup(3, "idis", Transport.HDLC, Authentication.LLS),
            MeterGroup(1, "hexcell", Transport.WRAPPER, Authentication.HLS_GMAC),
        ],
        seed=1,
        base_port=4100,
    )
    # Wrapper meters take 4100..4102 in fleet order; the HDLC meters share the first port after them.
    assert [meter.port for meter in fleet.meters] == [4100, 4101, 4103, 4103, 4103, 4102]
    assert fleet.hdlc_port == 4103
    assert [meter.physical_address for meter in fleet.hdlc_meters] == [16, 17, 18]
    assert [meter.brand for meter in fleet.meters] == ["hexing"] * 2 + ["idis"] * 3 + ["hexcell"]
    assert len({meter.meter_number for meter in fleet.meters}) == 6
    assert fleet_from_options(2).hdlc_port is None


def test_base_port_zero_lets_the_system_pick() -> None:
    fleet = fleet_from_options(3, transport="hdlc", base_port=0)
    assert fleet.hdlc_port == 0 and {meter.port for meter in fleet.meters} == {0}
    assert [meter.physical_address for meter in fleet.meters] == [FIRST_PHYSICAL_ADDRESS + i for i in range(3)]


def test_every_problem_with_the_options_is_listed() -> None:
    with pytest.raises(FleetError) as caught:
        fleet_from_options(0, brand="acme", transport="serial", auth="hls")
    assert caught.value.problems == [
        "options: brand 'acme' is not one of hexing, hexcell, idis",
        "options: transport is wrapper or hdlc",
    ]
    with pytest.raises(FleetError) as caught:
        fleet_from_options(0, host="10.1.2.3", base_port=65535, latency_ms=-1, seed=-2)
    assert caught.value.problems == [
        "host 10.1.2.3 is not a loopback address: simulated meters use seed-derived test keys",
        "a fleet has 1-100000 meters, not 0",
        "a group has at least 1 meter, not 0",
        "the seed is a whole number >= 0",
        "latency is 0-60000 ms",
    ]


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"host": "localhost"}, "host 'localhost' is not an IP address"),
        ({"base_port": 65530, "meters": 10}, "wrapper ports 65530..65539 are not all in 1024-65535 (or 0: any)"),
        ({"base_port": 80}, "wrapper ports 80..80 are not all in 1024-65535 (or 0: any)"),
        ({"transport": "hdlc", "meters": 20000}, "one HDLC port holds at most 16366 meters"),
    ],
)
def test_ports_hosts_and_sizes_out_of_range_are_refused(options: dict[str, object], problem: str) -> None:
    arguments: dict[str, object] = {"meters": 1, **options}
    count = arguments.pop("meters")
    assert isinstance(count, int)
    with pytest.raises(FleetError) as caught:
        fleet_from_options(count, **arguments)  # type: ignore[arg-type]
    assert problem in caught.value.problems


def test_the_hdlc_port_cannot_be_a_wrapper_meters_port() -> None:
    groups = [
        MeterGroup(3, "hexing", Transport.WRAPPER, Authentication.NONE),
        MeterGroup(1, "hexing", Transport.HDLC, Authentication.NONE),
    ]
    with pytest.raises(FleetError, match="HDLC port 4101 is also a wrapper meter's port"):
        build_fleet(groups, seed=1, base_port=4100, hdlc_port=4101)
    assert build_fleet(groups, seed=1, base_port=4100, hdlc_port=5000).hdlc_port == 5000


def test_secrets_stay_out_of_repr() -> None:
    fleet = fleet_from_options(2, auth="hls")
    text = repr(fleet)
    for meter in fleet.meters:
        assert meter.encryption_key is not None and meter.authentication_key is not None
        assert meter.encryption_key.hex() not in text and meter.authentication_key.hex() not in text
        assert str(meter.encryption_key) not in text
    (lls,) = fleet_from_options(1, auth="lls").meters
    assert lls.lls_password is not None and lls.lls_password.decode() not in repr(lls)


YAML_FLEET = """\
seed: 11
base_port: 5000
latency_ms: 20
meters:
  - {count: 2, brand: hexing, transport: wrapper, auth: hls}
  - count: 3
    brand: hexcell
    transport: hdlc
    auth: lls
"""


def test_a_yaml_fleet_file(tmp_path: Path) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text(YAML_FLEET)
    fleet = load_fleet_file(path)
    assert (fleet.seed, fleet.base_port, fleet.hdlc_port, fleet.latency_ms) == (11, 5000, 5002, 20)
    assert [meter.authentication for meter in fleet.meters] == [Authentication.HLS_GMAC] * 2 + [Authentication.LLS] * 3
    assert fleet.meters[0].meter_number == "47011000001" and fleet.meters[2].meter_number == "62011000003"


def test_a_json_fleet_file_gives_the_same_fleet(tmp_path: Path) -> None:
    yaml_path, json_path = tmp_path / "fleet.yml", tmp_path / "fleet.json"
    yaml_path.write_text(YAML_FLEET)
    document = {
        "seed": 11,
        "base_port": 5000,
        "latency_ms": 20,
        "meters": [
            {"count": 2, "brand": "hexing", "transport": "wrapper", "auth": "hls"},
            {"count": 3, "brand": "hexcell", "transport": "hdlc", "auth": "lls"},
        ],
    }
    json_path.write_text(json.dumps(document))
    assert load_fleet_file(json_path) == load_fleet_file(yaml_path)


def test_every_problem_in_a_fleet_file_is_listed() -> None:
    document = {
        "seed": "seven",
        "port": 4100,
        "hdlc_port": None,
        "meters": [{"count": "2", "brand": "acme", "auth": "hls-sha256", "colour": "red"}, "ten meters"],
    }
    with pytest.raises(FleetError) as caught:
        parse_fleet(document)
    assert caught.value.problems == [
        "unknown key 'port'",
        "seed is a whole number",
        "meters[1]: unknown key 'colour'",
        "meters[1]: count is a whole number",
        "meters[1]: brand 'acme' is not one of hexing, hexcell, idis",
        "meters[1]: auth is none, lls or hls",
        "meters[2]: a meter group is a mapping of auth, brand, ciphering, count, faults, transport",
    ]
    with pytest.raises(FleetError, match="a fleet file holds a mapping"):
        parse_fleet(["meters"])
    with pytest.raises(FleetError, match="meters is a non-empty list"):
        parse_fleet({"seed": 1})


def test_unreadable_and_malformed_files_are_fleet_errors(tmp_path: Path) -> None:
    with pytest.raises(FleetError, match="cannot read"):
        load_fleet_file(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(FleetError, match="is not valid JSON"):
        load_fleet_file(broken)
    bad_yaml = tmp_path / "broken.yaml"
    bad_yaml.write_text("meters: [unclosed\n")
    with pytest.raises(FleetError, match="is not valid YAML"):
        load_fleet_file(bad_yaml)


def test_a_fleet_file_chooses_general_ciphering_per_group() -> None:
    fleet = parse_fleet(
        {
            "base_port": 0,
            "meters": [
                {"count": 1, "auth": "hls", "ciphering": "general"},
                {"count": 1, "auth": "hls"},
            ],
        }
    )
    assert [meter.ciphering for meter in fleet.meters] == [Ciphering.GENERAL, Ciphering.SERVICE_SPECIFIC]
    with pytest.raises(FleetError) as caught:
        parse_fleet({"meters": [{"auth": "lls", "ciphering": "general"}, {"auth": "hls", "ciphering": "dedicated"}]})
    assert caught.value.problems == [
        "meters[2]: ciphering is service-specific or general",
    ]
    with pytest.raises(FleetError, match="ciphering general needs ciphered meters"):
        parse_fleet({"meters": [{"auth": "lls", "ciphering": "general"}]})


FAULTY_FLEET = """\
seed: 4
base_port: 0
fault_shares: {garbage: 0.25}
meters:
  - {count: 2, brand: hexing, auth: lls, faults: [wrong-secret, {kind: latency, latency_ms: 800, jitter_ms: 200}]}
  - {count: 6, brand: idis}
"""


def test_a_fleet_file_gives_faults_to_a_group_and_to_a_share_of_the_fleet(tmp_path: Path) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text(FAULTY_FLEET)
    fleet = load_fleet_file(path)
    assert load_fleet_file(path) == fleet  # the seed decides which meters get the shared faults
    for meter in fleet.meters[:2]:
        kinds = [fault.kind for fault in meter.faults]
        assert kinds[:2] == [FaultKind.WRONG_SECRET, FaultKind.LATENCY] and meter.faults[1].latency_ms == 800
    garbage = [meter for meter in fleet.meters if any(f.kind is FaultKind.GARBAGE for f in meter.faults)]
    assert len(garbage) == 2  # a quarter of 8 meters


def test_every_problem_with_faults_is_listed() -> None:
    document = {
        "fault_share": 3,
        "fault_shares": {"warp": 0.1},
        "meters": [
            {"count": 1, "faults": ["wrong-secret"]},
            {"count": 1, "auth": "lls", "faults": ["garbage", "garbage", {"kind": "slow", "ms_per_byte": 0}]},
            {"count": 1, "faults": "garbage"},
        ],
    }
    with pytest.raises(FleetError) as caught:
        parse_fleet(document)
    assert caught.value.problems == [
        "meters[2].faults[3]: ms_per_byte is more than 0 and at most 1000",
        "meters[2]: each fault kind is listed once",
        "meters[3]: faults is a list of fault kinds or mappings",
        "fault_share is a number from 0 to 1, not 3",
        f"fault kind 'warp' is not one of {', '.join(FaultKind)}",
    ]
    with pytest.raises(FleetError, match="wrong-secret needs meters with a password or keys"):
        parse_fleet({"meters": [{"count": 1, "faults": ["wrong-secret"]}]})


def test_fault_shares_on_the_options_are_chosen_by_the_seed() -> None:
    shares = FaultShares(0.2, ((FaultKind.NO_ANSWER, 0.1),))
    fleet = fleet_from_options(20, auth="lls", seed=9, fault_shares=shares)
    assert fleet_from_options(20, auth="lls", seed=9, fault_shares=shares) == fleet
    faulty = [meter for meter in fleet.meters if meter.faults]
    assert 4 <= len(faulty) <= 6
    assert sum(1 for m in fleet.meters for f in m.faults if f.kind is FaultKind.NO_ANSWER) >= 2
    again = with_fault_shares(fleet, shares)  # the same kinds are not added twice
    assert [len(meter.faults) for meter in again.meters] == [len(meter.faults) for meter in fleet.meters]
    assert all(not meter.faults for meter in fleet_from_options(20, seed=9).meters)
