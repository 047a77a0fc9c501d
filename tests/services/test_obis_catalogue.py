"""The OBIS catalogue: a brand's objects by group with the rights of one client, filtered; unknown brands listed."""

from __future__ import annotations

import pytest

from hes.errors import InvalidInput, NotFound
from hes.obis import ObisCode, available_brands, load_profile
from hes.services import obis_catalogue


def test_brands_are_the_profiles_in_the_package() -> None:
    summaries = obis_catalogue.brands()
    assert [summary.brand for summary in summaries] == list(available_brands())
    hexing = next(summary for summary in summaries if summary.brand == "hexing")
    assert (hexing.extends, hexing.objects) == ("idis", len(load_profile("hexing")))
    assert "management" in {role.name for role in hexing.clients}


def test_the_management_client_sees_readable_writable_and_executable_members() -> None:
    found = obis_catalogue.catalogue("idis")
    assert (found.client.name, found.client.sap) == ("management", 1)
    assert found.total == len(load_profile("idis"))
    clock = next(
        view for group in found.groups for view in group.objects if view.obis == ObisCode.parse("0-0:1.0.0.255")
    )
    assert (clock.name, clock.class_id, clock.group) == ("Clock", 8, "Clock")
    readable = {member.name for member in clock.readable}
    writable = {member.name for member in clock.writable}
    assert {"time", "time_zone", "status", "clock_base"} <= readable
    assert "logical_name" not in readable  # the OBIS code already says it
    assert "time" in writable and "status" not in writable and "clock_base" not in writable
    assert [method.name for method in clock.methods] == ["adjust_to_quarter", "adjust_to_minute", "shift_time"]
    time_member = next(member for member in clock.readable if member.name == "time")
    assert (time_member.data_type, time_member.size) == ("octet-string", 12)


def test_another_client_sees_its_own_rights() -> None:
    reading = obis_catalogue.catalogue("idis", client="reading")
    assert reading.client.name == "reading"
    every_object = [view for group in reading.groups for view in group.objects]
    assert all(view.writable == () for view in every_object)
    # It may only answer the HLS challenge of its own association.
    assert {(str(view.obis), method.name) for view in every_object for method in view.methods} == {
        ("0-0:40.0.0.255", "reply_to_hls_authentication")
    }
    with pytest.raises(InvalidInput) as refused:
        obis_catalogue.catalogue("idis", client="janitor")
    assert "management" in refused.value.problems[0].message


def test_a_brand_without_a_management_client_shows_its_strongest_client() -> None:
    found = obis_catalogue.catalogue("HEXCELL ")
    assert found.brand == "hexcell"
    assert found.client == load_profile("hexcell").clients[0]


def test_groups_keep_the_profile_order_and_scalers_and_units_come_along() -> None:
    found = obis_catalogue.catalogue("hexing")
    profile_groups = list(dict.fromkeys(spec.group for spec in load_profile("hexing")))
    assert [group.name for group in found.groups] == profile_groups
    energy = next(view for group in found.groups for view in group.objects if str(view.obis) == "1-0:1.8.0.255")
    assert energy.unit == "Wh" and energy.scaler is not None


def test_search_and_group_narrow_the_catalogue() -> None:
    by_code = obis_catalogue.catalogue("hexing", search="1.0.1.8.0.255")  # any spelling of a whole code
    assert [str(view.obis) for group in by_code.groups for view in group.objects] == ["1-0:1.8.0.255"]
    by_text = obis_catalogue.catalogue("idis", search="VOLTAGE")
    assert by_text.total > 0
    assert all("voltage" in f"{view.name} {view.group}".lower() for group in by_text.groups for view in group.objects)
    clock_group = obis_catalogue.catalogue("idis", group="clock")
    assert [group.name for group in clock_group.groups] == ["Clock"]
    assert obis_catalogue.catalogue("idis", search="no such thing at all").groups == ()
    assert obis_catalogue.catalogue("idis", group="Nowhere").total == 0


@pytest.mark.parametrize("brand", ["landis", "../idis", "", "idis.csv"])
def test_an_unknown_brand_is_not_found_and_the_known_ones_are_listed(brand: str) -> None:
    with pytest.raises(NotFound) as missing:
        obis_catalogue.catalogue(brand)
    for known in available_brands():
        assert known in missing.value.message
    assert missing.value.problems[0].field == "brand"
