"""What the source parsers share: type spellings, text cleaning, standard members, the profile writer."""

from __future__ import annotations

from pathlib import Path

import pytest

from hes.obis import ClientRole, ObisCode
from hes.obis.build_profiles.common import (
    BuildObject,
    attribute_count,
    class_version,
    clean_text,
    normalise_type,
    standard_members,
    write_profile,
)
from hes.obis.profiles import read_profile


@pytest.mark.parametrize(
    ("spelling", "profile_type"),
    [
        ("double long unsigned", "double-long-unsigned"),
        ("octet_string[6]", "octet-string[6]"),
        ("Octet-String[12]", "octet-string[12]"),
        ("enum", "enum"),
    ],
)
def test_normalise_type(spelling: str, profile_type: str) -> None:
    assert normalise_type(spelling) == profile_type


def test_normalise_type_refuses_vendor_names() -> None:
    with pytest.raises(ValueError, match="not a data type"):
        normalise_type("Load_allocation")


def test_clean_text() -> None:
    full_width = "Voltage interrupt\uff08Bazil\uff09\n previous "  # the Chinese tables' brackets
    assert clean_text(full_width) == "Voltage interrupt(Bazil) previous"


def test_standard_members() -> None:
    attributes, methods = standard_members(70, {1: "R", 4: "RW"}, (1, 2), clients=2)
    assert {index: (spec.name, spec.data_type, spec.rights) for index, spec in attributes.items()} == {
        1: ("logical_name", "octet-string[6]", ("R", "R")),
        4: ("control_mode", "enum", ("RW", "RW")),
    }
    assert [spec.name for spec in methods.values()] == ["remote_disconnect", "remote_reconnect"]
    assert (class_version(7), attribute_count(8), attribute_count(99)) == (1, 9, 0)
    with pytest.raises(ValueError, match="class 3 has no attribute 4"):
        standard_members(3, {4: "R"}, (), clients=1)
    with pytest.raises(ValueError, match="class 99 is not in the build catalogue"):
        standard_members(99, {1: "R"}, (), clients=1)


def test_written_profiles_read_back(tmp_path: Path) -> None:
    spec = BuildObject(ObisCode.parse("1-0:1.8.0.255"), 3, 0, "Energy, import", "Energy", scaler=-1, unit=30)
    spec.attributes, spec.methods = standard_members(3, {1: "R", 2: "R", 3: "R"}, (1,), clients=1)
    path = tmp_path / "acme.csv"
    write_profile(path, ["a comment", "extends: idis"], [ClientRole("utility", 17)], [spec])
    profile = read_profile(path)
    energy = profile.get("1-0:1.8.0.255")
    assert (energy.name, energy.scaler, energy.unit_symbol, profile.extends) == ("Energy, import", -1, "Wh", "idis")
    assert path.read_text(encoding="utf-8").startswith("# a comment\n# extends: idis\nobis,class_id")
