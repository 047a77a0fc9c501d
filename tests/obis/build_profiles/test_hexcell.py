"""The Hexcell list's rules, on a small list in its format (an object table, then profile tables)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hes.obis import ObisCode
from hes.obis.build_profiles.common import BuildObject
from hes.obis.build_profiles.hexcell import parse_hexcell

OBJECT_HEADER = (
    "YES/NO\tName/Attributes\tClass Id\tOBIS Code\tRights\tMethod Id\tData Type\tData Length\tScaler\tUnit\t"
    "Description\n"
)
PROFILE_HEADER = (
    "YES/NO\tFunction name\tDescription\tCapture Object's name\tClass Id\tOBIS Code\tAttribute Id\tMethod Id\t"
    "Data Type\tData Length\tScaler\tUnit\n"
)
OBJECTS = [
    "\t1 Product Information\t\t\t\t\t\t\t\t\t\n",
    "√\tMeter Serial number\t1\t{0000600100FF}\t2:R;\t\toctet-string\t6\t\t\t\n",
    "\t2 Clock\t\t\t\t\t\t\t\t\t\n",
    "√\tClock\t8\t{0000010000FF}\t2:RW;\t\toctet-string\t12\t\t\t\n",
    "\t3 Energy\t\t\t\t\t\t\t\t\t\n",
    "√\tTotal import active energy\t3\t0100010800FF\t2:R;3:R;\t\tdouble long unsigned\t4\t1\tWh\t\n",
    "√\tApparent energy [TOU 1]\t3\t0100090802FF\t2:R;3:R;\t\tdouble-long-unsigned\t4\t1\tVAh\t\n",
    "√\tLast 11 month apparent energy\t3\t01000908000C\t2:R;3:R;\t\tdouble-long-unsigned\t4\t1\tVAh\t\n",
    "√\tTotal reactive energy\t\t01005D0800FF\t2:R;3:R;\t\tdouble-long-unsigned\t4\t1\tvarh\t\n",
    "√\tWarning time\t1\t{0100812782FF}\t2:RW;3:R;\t\tlong-unsigned\t2\t0\t\t\n",
    "\t7 Relay\t\t\t\t\t\t\t\t\t\n",
    "√\tMain disconnector (Disconnect,Connect)\t70\t{000060030AFF}\t2:R;3:R;4:R;\t1\t\t\t\t\t\n",
]
PROFILES = [
    "\tLoad profiles\t\t\t\t\t\t\t\t\t\t\n",
    "√\tLoad Profile Channel 1\tProfile channel 1\t\t7\t{0100630100FF}\t2\t\tArray\t\t\t\n",
    "\t\tCaptured Objects:\tClock\t8\t{0000010000FF}\t2\t\tdate_time\t\t\t\n",
    "\t\t\tTotal import active kWh\t3\t{0100010800FF}\t2\t\tdouble long unsigned\t4\t1\tWh\n",
    "\tEvent Logs\t\t\t\t\t\t\t\t\t\t\n",
    "√\tCredit energy Logs\tCredit energy Logs\t\t7\t{0100636255FF}\t2\t\tArray\t\t\t\n",
    "\t\tCaptured Objects:\tEnergy\t3\t{0000604300FF}\t2\t\tdouble-long-unsigned\t4\t1\tWh\n",
    "\t\t\t\t\t\t2\t\tdate_time\t\t\t\n",
    "GPRS Meter Log-in and Heart-Beat\t\t\t\t\t\t\t\t\t\t\t\n",
    "√\tTCP\t0x0011\t0x0001\tLLS\t\t\t\t\t\t\t\n",
]


def _list(tmp_path: Path, objects: list[str] = OBJECTS, profiles: list[str] = PROFILES) -> Path:
    path = tmp_path / "hexcell-unified-obis-list.txt"
    path.write_text("Title\t\n" + OBJECT_HEADER + "".join(objects) + PROFILE_HEADER + "".join(profiles), "utf-8")
    return path


def _by_obis(tmp_path: Path) -> dict[str, BuildObject]:
    return {str(spec.obis): spec for spec in parse_hexcell(_list(tmp_path))}


def test_objects_with_standard_members_and_readable_logical_names(tmp_path: Path) -> None:
    objects = _by_obis(tmp_path)
    energy = objects["1-0:1.8.0.255"]
    assert (energy.class_id, energy.group, energy.scaler, energy.unit) == (3, "Energy", 1, 30)
    names = {index: member.name for index, member in energy.attributes.items()}
    assert names == {1: "logical_name", 2: "value", 3: "scaler_unit"}
    assert energy.attributes[2].data_type == "double-long-unsigned"
    assert objects["0-0:96.1.0.255"].attributes[2].data_type == "octet-string[6]"
    assert objects["0-0:1.0.0.255"].attributes[2].rights == ("RW",)


def test_source_errata_rules(tmp_path: Path) -> None:
    objects = _by_obis(tmp_path)
    assert objects["1-0:9.8.2.255"].name == "Apparent energy [TOU 2]"
    assert "1-0:9.8.0.11" in objects and "1-0:9.8.0.12" not in objects
    assert objects["1-0:93.8.0.255"].class_id == 3
    assert 3 not in objects["1-0:129.39.130.255"].attributes
    assert sorted(objects["0-0:96.3.10.255"].methods) == [1, 2]


def test_profiles_their_captures_and_added_capture_objects(tmp_path: Path) -> None:
    objects = _by_obis(tmp_path)
    load = objects["1-0:99.1.0.255"]
    assert load.group == "Load profiles"
    assert load.attributes[3].default == "{8,0-0:1.0.0.255,2,0} {3,1-0:1.8.0.255,2,0}"
    assert sorted(load.attributes) == list(range(1, 9))
    credit_log = objects["1-0:99.98.85.255"]
    assert credit_log.attributes[3].default == "{3,0-0:96.67.0.255,2,0}"  # the row without an OBIS code is out
    added = objects["0-0:96.67.0.255"]
    assert (added.group, added.scaler, sorted(added.attributes)) == ("Captured objects", 1, [1, 2, 3])
    assert ObisCode.parse("0-0:96.67.0.255") == added.obis


def test_a_list_without_its_tables_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "hexcell-unified-obis-list.txt"
    path.write_text(OBJECT_HEADER + "".join(OBJECTS), "utf-8")
    with pytest.raises(ValueError, match="expected an object table and a profile table"):
        parse_hexcell(path)


def test_a_bad_row_names_its_line(tmp_path: Path) -> None:
    bad = [*OBJECTS, "√\tMystery\t3\t{01000108}\t2:R;\t\tlong\t2\t\t\t\n"]
    with pytest.raises(ValueError, match=r"line 15: OBIS code '\{01000108\}' is not 12 hex digits"):
        parse_hexcell(_list(tmp_path, objects=bad))
    orphan = [*OBJECTS, "√\tNo class\t\t010001080AFF\t2:R;\t\tlong\t2\t\t\t\n"]
    with pytest.raises(ValueError, match="has no class id"):
        parse_hexcell(_list(tmp_path, objects=orphan))
