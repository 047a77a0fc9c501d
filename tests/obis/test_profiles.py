"""Brand profiles: every brand loads, rows seen in the vendors' lists come out right, bad files name their line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hes.obis import Access, BrandProfile, ObisCode, ProfileError, available_brands, load_profile, profiles
from hes.obis.profiles import COLUMNS, parse_profile, parse_references, read_profile
from hes.obis.units import UNITLESS, unit_code

BRANDS = ("hexcell", "hexing", "idis")
HEADER = ",".join(COLUMNS) + ",access.public.16,access.management.1"
GOOD_ROW = "0-0:1.0.0.255,8,0,Clock,Clock,,,attribute,1,logical_name,octet-string[6],,R,R"


def test_available_brands_lists_every_data_file() -> None:
    assert set(BRANDS) <= set(available_brands())


@pytest.mark.parametrize("brand", BRANDS)
def test_every_brand_loads_with_clock_serial_number_and_energy(brand: str) -> None:
    profile = load_profile(brand)
    assert profile.brand == brand
    assert len(profile) > 30
    assert profile.get("0-0:1.0.0.255").class_id == 8
    assert profile.get("0-0:96.1.0.255").class_id == 1
    energy = profile.get("1-0:1.8.0.255")
    assert (energy.class_id, energy.unit_symbol) == (3, "Wh")


@pytest.mark.parametrize("brand", BRANDS)
def test_logical_names_are_unique_and_every_object_has_its_logical_name(brand: str) -> None:
    profile = load_profile(brand)
    assert len({spec.obis for spec in profile}) == len(profile)
    assert len({(spec.obis, spec.class_id) for spec in profile}) == len(profile)
    for spec in profile:
        logical_name = spec.attribute(1)
        assert logical_name is not None and logical_name.name == "logical_name", spec.obis


@pytest.mark.parametrize("brand", BRANDS)
def test_every_captured_or_pushed_object_is_in_the_profile(brand: str) -> None:
    profile = load_profile(brand)
    for spec in profile:
        for attribute in spec.attributes:
            for reference in attribute.references:
                captured = profile.find(reference.obis)
                assert captured is not None, f"{spec.obis} refers to {reference.obis}"
                assert captured.class_id == reference.class_id
                assert captured.attribute(reference.attribute) is not None


@pytest.mark.parametrize("brand", BRANDS)
def test_registers_have_a_scaler_and_known_unit(brand: str) -> None:
    for spec in load_profile(brand):
        if spec.class_id == 3 and spec.scaler is not None:
            assert spec.unit_symbol is not None and not spec.unit_symbol.isdigit(), spec.obis


def test_load_profile_is_cached_and_forgives_case() -> None:
    assert load_profile("idis") is load_profile("idis")
    assert load_profile(" IDIS ") == load_profile("idis")


def test_an_unknown_brand_names_the_known_ones() -> None:
    with pytest.raises(ProfileError, match=r"known: .*hexcell.*hexing.*idis"):
        load_profile("landis")
    with pytest.raises(ProfileError, match="not a brand name"):
        load_profile("../idis")


# ---------------------------------------------------------------------------------------------- Hexcell rows


def test_hexcell_energy_register_scaler_and_unit() -> None:
    # "Total import active energy | 3 | 0100010800FF | 2:R;3:R; | double-long-unsigned | 4 | 1 | Wh"
    energy = load_profile("hexcell").get("1-0:1.8.0.255")
    assert (energy.name, energy.group) == ("Total import active energy", "Energy")
    assert (energy.scaler, energy.unit) == (1, unit_code("Wh"))
    value = energy.attribute(2)
    assert value is not None and value.data_type == "double-long-unsigned"
    assert value.access_for(0x11) is Access.READ


def test_hexcell_instantaneous_values() -> None:
    profile = load_profile("hexcell")
    voltage = profile.get("1-0:32.7.0.255")  # "L1 voltage (V) | 3 | {0100200700FF} | long-unsigned | -1 | V"
    assert (voltage.class_id, voltage.scaler, voltage.unit_symbol) == (3, -1, "V")
    assert voltage.attribute(2) is not None and voltage.attribute(2).data_type == "long-unsigned"  # type: ignore[union-attr]
    power_factor = profile.get("1-0:13.7.0.255")  # scaler -3, no unit in the list
    assert (power_factor.scaler, power_factor.unit) == (-3, UNITLESS)
    frequency = profile.get("1-0:14.7.0.255")
    assert (frequency.scaler, frequency.unit_symbol) == (-2, "Hz")


def test_hexcell_token_and_credit_registers() -> None:
    profile = load_profile("hexcell")
    token = profile.get("1-0:129.129.2.255")  # "TOKEN | 1 | {0100818102FF} | 2:W; | octet-string | 10"
    assert (token.class_id, token.name) == (1, "TOKEN")
    value = token.attribute(2)
    assert value is not None
    assert (value.data_type, value.size, value.access_for(0x11)) == ("octet-string", 10, Access.WRITE)
    remaining = profile.get("1-0:96.66.0.255")  # "Remain energy | 3 | {0100604200FF} | 1 | Wh"
    assert (remaining.class_id, remaining.scaler, remaining.unit_symbol) == (3, 1, "Wh")
    # Captured by the credit energy log but absent from the object table: added with its captured attribute.
    assert profile.get("0-0:96.67.0.255").class_id == 3
    assert profile.get("0-0:96.96.1.255").class_id == 1


def test_hexcell_disconnector_has_both_remote_methods() -> None:
    relay = load_profile("hexcell").get("0-0:96.3.10.255")
    assert relay.class_id == 70
    assert [method.name for method in relay.methods] == ["remote_disconnect", "remote_reconnect"]
    assert all(method.access_for(0x11) is Access.EXECUTE for method in relay.methods)


def test_hexcell_profiles_and_capture_objects() -> None:
    profile = load_profile("hexcell")
    load = profile.get("1-0:99.1.0.255")
    assert (load.class_id, load.version, load.group) == (7, 1, "Load profiles")
    captured = load.capture_objects
    assert captured[0].class_id == 8 and captured[0].obis == ObisCode.parse("0-0:1.0.0.255")
    assert ObisCode.parse("1-0:32.7.0.255") in {reference.obis for reference in captured}
    relay_log = profile.get("1-0:99.98.46.255")  # Relay off Logs: its second capture row has no OBIS code
    assert [reference.obis for reference in relay_log.capture_objects] == [ObisCode.parse("0-0:1.0.0.255")]


def test_hexcell_source_errata_are_fixed() -> None:
    profile = load_profile("hexcell")
    assert profile.get("1-0:93.8.0.255").class_id == 3  # no class id in the list; a register by its scaler_unit
    assert profile.get("1-0:9.8.4.11").name == "Last 11 month apparent energy [TOU 4]"  # listed as ...040C
    assert profile.get("1-0:9.8.4.12").name == "Last 12 month apparent energy [TOU 4]"
    assert profile.get("1-0:9.8.2.255").name == "Apparent energy [TOU 2]"  # listed as "[TOU 1]"


# ---------------------------------------------------------------------------------------------- Hexing rows


def test_hexing_extends_idis() -> None:
    profile = load_profile("hexing")
    assert profile.extends == "idis"
    assert [role.sap for role in profile.clients] == [16, 102, 1, 2]
    assert profile.get("0-0:96.3.10.255").class_id == 70  # from IDIS
    assert profile.get("1-0:12.31.0.255").group == "Power quality / Voltage thresholds"  # its own


def test_hexing_threshold_register_rights_per_client() -> None:
    # Threshold for Under Voltage (sag): value "\ W RW R", scaler_unit {-1,35}
    sag = load_profile("hexing").get("1-0:12.31.0.255")
    assert (sag.class_id, sag.scaler, sag.unit_symbol) == (3, -1, "V")
    value = sag.attribute(2)
    assert value is not None
    assert [value.access_for(sap) for sap in (16, 102, 1, 2)] == [
        Access.NONE,
        Access.WRITE,
        Access.READ | Access.WRITE,
        Access.READ,
    ]
    reset = sag.method(1)
    assert reset is not None and reset.name == "reset" and reset.access_for(1) is Access.NONE


def test_hexing_defaults_and_single_phase_variants() -> None:
    profile = load_profile("hexing")
    long_failure = profile.get("0-0:96.7.20.255")  # default 180, scaler_unit {0,7}
    assert long_failure.attribute(2).default == "180"  # type: ignore[union-attr]
    assert (long_failure.scaler, long_failure.unit_symbol) == (0, "s")
    over_current = profile.get("1-0:11.35.0.255")  # "3P CT: {-3,33} ... 1P: {-2,33}"
    assert (over_current.scaler, over_current.unit_symbol) == (-2, "A")
    assert over_current.attribute(2).default is None  # type: ignore[union-attr]  # prose default dropped
    voltage_cut = profile.get("1-0:12.39.0.255")  # "3P CT: 161 ... 1P: 115"
    assert voltage_cut.attribute(2).default == "115"  # type: ignore[union-attr]


def test_hexing_billing_period_objects_are_expanded() -> None:
    profile = load_profile("hexing")
    months = [profile.find(f"0-0:96.128.0.{f}") for f in range(101, 113)]
    assert all(spec is not None for spec in months)
    assert months[2] is not None and "previous 3 month" in months[2].name


def test_hexing_deprecated_rows_are_left_out() -> None:
    profile = load_profile("hexing")
    assert profile.find("1-0:12.130.0.255") is None  # 废弃
    assert profile.find("0-0:96.7.133.255") is None  # every attribute row 废弃
    assert profile.get("1-0:12.31.0.255").name == "Threshold for Under Voltage (sag)"  # not the deprecated twin


# ---------------------------------------------------------------------------------------------- IDIS rows


def test_idis_profile_objects() -> None:
    profile = load_profile("idis")
    expected = {
        "0-0:1.0.0.255": 8,
        "0-0:42.0.0.255": 1,
        "0-0:96.1.0.255": 1,
        "1-0:1.8.0.255": 3,
        "1-0:2.8.0.255": 3,
        "1-0:3.8.0.255": 3,
        "1-0:4.8.0.255": 3,
        "1-0:32.7.0.255": 3,
        "1-0:52.7.0.255": 3,
        "1-0:72.7.0.255": 3,
        "1-0:31.7.0.255": 3,
        "1-0:14.7.0.255": 3,
        "1-0:13.7.0.255": 3,
        "1-0:99.1.0.255": 7,
        "0-0:98.1.0.255": 7,
        "0-0:98.2.0.255": 7,
        "0-0:99.98.0.255": 7,
        "0-0:99.98.1.255": 7,
        "0-0:99.98.2.255": 7,
        "0-0:99.97.0.255": 7,
        "0-0:96.3.10.255": 70,
        "0-0:44.0.0.255": 18,
        "0-0:25.9.0.255": 40,
        "0-0:40.0.0.255": 15,
        "0-0:96.5.0.255": 1,
    }
    expected |= {f"1-0:1.8.{rate}.255": 3 for rate in range(1, 5)}
    assert {obis: profile.get(obis).class_id for obis in expected} == expected
    assert (profile.get("1-0:32.7.0.255").scaler, profile.get("1-0:32.7.0.255").unit_symbol) == (-1, "V")
    push = profile.get("0-0:25.9.0.255").attribute(2)
    assert push is not None and push.references[0].obis == ObisCode.parse("0-0:25.9.0.255")


def test_idis_public_client_sees_identification_but_not_energy() -> None:
    profile = load_profile("idis")
    assert profile.get("0-0:42.0.0.255").attribute(2).access_for(16) is Access.READ  # type: ignore[union-attr]
    assert profile.get("1-0:1.8.0.255").attribute(2).access_for(16) is Access.NONE  # type: ignore[union-attr]
    assert profile.get("1-0:1.8.0.255").attribute(2).access_for(1) is Access.READ  # type: ignore[union-attr]
    assert profile.get("1-0:1.8.0.255").attribute(2).access_for(99) is Access.NONE  # type: ignore[union-attr]


# ---------------------------------------------------------------------------------------------- bad files


def _profile_file(tmp_path: Path, *rows: str, comments: str = "") -> Path:
    path = tmp_path / "acme.csv"
    path.write_text(comments + "\n".join((HEADER, *rows)) + "\n", encoding="utf-8")
    return path


def test_a_good_file_reads(tmp_path: Path) -> None:
    profile = read_profile(_profile_file(tmp_path, GOOD_ROW, comments="# an ACME meter\n"))
    assert isinstance(profile, BrandProfile)
    assert profile.brand == "acme"
    assert [(role.name, role.sap) for role in profile.clients] == [("public", 16), ("management", 1)]


@pytest.mark.parametrize(
    ("bad_row", "message"),
    [
        ("0-0:1.0.0,8,0,Clock,Clock,,,attribute,2,time,octet-string[12],,R,RW", "not an OBIS code"),
        ("0-0:1.0.0.255,eight,0,Clock,Clock,,,attribute,2,time,octet-string[12],,R,RW", "class_id 'eight'"),
        ("0-0:1.0.0.255,8,0,Clock,Clock,,,attribute,2,time,octet-string[12],,R,WR", "access 'WR'"),
        ("0-0:1.0.0.255,8,0,Clock,Clock,,,method,1,adjust,integer,,R,X", "access 'R' of a method"),
        ("0-0:1.0.0.255,8,0,Clock,Clock,,,attribute,2,time,datetime,,R,RW", "'datetime' is not a data type"),
        ("0-0:1.0.0.255,8,0,Clock,Clock,,,attribute,2,time,,,R,RW", "attribute 2 has no type"),
        ("0-0:1.0.0.255,8,0,Clock,Clock,,,attribute,1,logical_name,octet-string[6],,R,R", "attribute 1 of"),
        ("0-0:1.0.0.255,8,0,Clock,Clock,,,attribute,2,time,octet-string[12],,R", "13 cells where the header has 14"),
        ("0-0:1.0.0.255,8,0,Clock,Clock,,,property,2,time,octet-string[12],,R,R", "neither attribute nor method"),
        ("0-0:1.0.0.255,8,0,Clock,Clock,,,attribute,200,time,octet-string[12],,R,R", "index 200 is outside"),
        ("0-0:1.0.0.255,8,0,Clock,Clock,,,attribute,2,time,long,soon,R,R", "default 'soon' is not a whole number"),
        ("0-0:1.0.0.255,8,0,,Clock,,,attribute,2,time,octet-string[12],,R,R", "has no name"),
        ("1-0:1.8.0.255,3,0,Energy,Energy,,Wh,attribute,1,logical_name,octet-string[6],,R,R", "unit 'Wh' without"),
        ("1-0:1.8.0.255,3,0,Energy,Energy,0,kWh,attribute,1,logical_name,octet-string[6],,R,R", "'kWh' is not"),
        ("1-0:99.1.0.255,7,1,LP,LP,,,attribute,1,logical_name,array,{8;0-0:1.0.0.255;2;0},R,R", "object references"),
    ],
)
def test_a_malformed_row_names_its_line(tmp_path: Path, bad_row: str, message: str) -> None:
    path = _profile_file(tmp_path, GOOD_ROW, bad_row, comments="# two comment lines\n# before the header\n")
    with pytest.raises(ProfileError, match="acme.csv line 5: .*" + message):
        read_profile(path)


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "acme.csv"
    path.write_bytes(HEADER.encode() + b"\n0-0:1.0.0.255,8,0,Cl\xf6ck," + GOOD_ROW.encode()[23:])
    with pytest.raises(ProfileError, match=r"acme\.csv is not UTF-8 text"):
        read_profile(path)


def test_an_object_split_over_the_file_is_refused(tmp_path: Path) -> None:
    energy = "1-0:1.8.0.255,3,0,Energy,Energy,0,Wh,attribute,1,logical_name,octet-string[6],,R,R"
    clock_again = "0-0:1.0.0.255,8,0,Clock,Clock,,,attribute,2,time,octet-string[12],,R,RW"
    with pytest.raises(ProfileError, match=r"line 4: object 0-0:1\.0\.0\.255 again \(first at line 2\)"):
        read_profile(_profile_file(tmp_path, GOOD_ROW, energy, clock_again))


def test_an_object_without_logical_name_is_refused(tmp_path: Path) -> None:
    row = "0-0:1.0.0.255,8,0,Clock,Clock,,,attribute,2,time,octet-string[12],,R,RW"
    with pytest.raises(ProfileError, match=r"line 2: object 0-0:1\.0\.0\.255 has no attribute 1"):
        read_profile(_profile_file(tmp_path, row))


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("obis,class_id,version,object,group,scaler,unit,member,index,name,type,default", "at least one"),
        ("obis,class,version,object,group,scaler,unit,member,index,name,type,default,access.public.16", "must start"),
        (",".join(COLUMNS) + ",rights.public", "not access.<role>.<client SAP>"),
        (",".join(COLUMNS) + ",access.public.16,access.other.16", "one access"),
    ],
)
def test_a_bad_header_is_refused(tmp_path: Path, header: str, message: str) -> None:
    path = tmp_path / "acme.csv"
    path.write_text(f"# comment\n{header}\n{GOOD_ROW}\n", encoding="utf-8")
    with pytest.raises(ProfileError, match="acme.csv line 2: .*" + message):
        read_profile(path)


def test_extends_merges_objects_and_clients(tmp_path: Path) -> None:
    own_clock = "0-0:1.0.0.255,8,0,ACME clock,Clock,,,attribute,1,logical_name,octet-string[6],,R,R"
    extra = "1-0:200.8.0.255,3,0,ACME register,Energy,0,Wh,attribute,1,logical_name,octet-string[6],,R,R"
    path = tmp_path / "acme.csv"
    path.write_text(f"# extends: idis\n{HEADER.replace('public.16', 'service.7')}\n{own_clock}\n{extra}\n")
    profile = read_profile(path)
    idis = load_profile("idis")
    assert profile.extends == "idis"
    assert len(profile) == len(idis) + 1
    assert profile.objects[0].name == "ACME clock"  # replaced in place
    assert profile.objects[-1].obis == ObisCode.parse("1-0:200.8.0.255")
    assert [role.sap for role in profile.clients] == [role.sap for role in idis.clients] + [7]


def test_extending_an_unknown_brand_is_refused() -> None:
    text = f"# extends: nobody\n{HEADER}\n{GOOD_ROW}\n"
    with pytest.raises(ProfileError, match=r"acme\.csv extends 'nobody': no profile for brand 'nobody'"):
        parse_profile(text, "acme")


@pytest.fixture
def data_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty package data directory in place of hes/obis/data."""
    monkeypatch.setattr(profiles, "_data_directory", lambda: tmp_path)
    load_profile.cache_clear()
    yield tmp_path
    load_profile.cache_clear()


def test_adding_a_brand_is_adding_a_data_file(data_directory: Path) -> None:
    (data_directory / "acme.csv").write_text(f"{HEADER}\n{GOOD_ROW}\n", encoding="utf-8")
    (data_directory / "README.txt").write_text("not a profile", encoding="utf-8")
    assert available_brands() == ("acme",)
    assert load_profile("acme").get("0-0:1.0.0.255").name == "Clock"


def test_profiles_extending_each_other_in_a_loop_are_refused(data_directory: Path) -> None:
    (data_directory / "acme.csv").write_text(f"# extends: zenith\n{HEADER}\n{GOOD_ROW}\n", encoding="utf-8")
    (data_directory / "zenith.csv").write_text(f"# extends: acme\n{HEADER}\n{GOOD_ROW}\n", encoding="utf-8")
    with pytest.raises(ProfileError, match="in a loop: acme -> zenith -> acme"):
        load_profile("acme")


def test_references_and_access_spellings() -> None:
    references = parse_references("{8,0-0:1.0.0.255,2,0} {3, 1-0:1.8.0.255, 2, 0}")
    assert [(ref.class_id, str(ref.obis), ref.attribute) for ref in references] == [
        (8, "0-0:1.0.0.255", 2),
        (3, "1-0:1.8.0.255", 2),
    ]
    with pytest.raises(ValueError, match="object references"):
        parse_references("{8,0-0:1.0.0.255,2,0} and more")
    assert [str(Access.parse(text)) for text in ("-", "R", "W", "RW", "X")] == ["-", "R", "W", "RW", "X"]
    with pytest.raises(ValueError, match="not one of"):
        Access.parse("r")
