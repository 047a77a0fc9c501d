"""Polling schedules from HES_POLL_SCHEDULES: defaults, groups by brand and area, kinds switched off, bad input."""

from __future__ import annotations

import pytest

from hes.connectivity.catalogue import CollectionKind
from hes.connectivity.polling_groups import DEFAULT_INTERVALS, parse_polling_groups


def test_without_a_setting_every_meter_follows_the_default_schedule() -> None:
    (default,) = parse_polling_groups("")
    assert default.is_default and dict(default.intervals) == dict(DEFAULT_INTERVALS)
    assert default.intervals[CollectionKind.REGISTERS] == 900
    assert default.intervals[CollectionKind.LOAD_PROFILE] == 86_400


def test_groups_take_the_default_groups_intervals_for_kinds_they_leave_out() -> None:
    text = """[
        {"name": "lagos-hexcell", "brand": "Hexcell", "area": "LAGOS", "registers": 1800, "billing": null},
        {"name": "default", "registers": 600, "events": 43200}
    ]"""
    group, default = parse_polling_groups(text)
    assert (group.name, group.brand, group.area) == ("lagos-hexcell", "hexcell", "LAGOS")
    assert group.intervals[CollectionKind.REGISTERS] == 1800
    assert group.intervals[CollectionKind.EVENTS] == 43_200  # from the default group
    assert CollectionKind.BILLING not in group.intervals  # switched off
    assert default.is_default and default.intervals[CollectionKind.REGISTERS] == 600


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("not json", "not JSON"),
        ('{"registers": 900}', "a JSON list"),
        ('[{"brand": "hexing", "registers": 10}]', "registers is seconds"),
        ('[{"brand": "hexing", "loadprofile": 900}]', "unknown key 'loadprofile'"),
        ('[{"registers": 900}, {"name": "again"}]', "only one group"),
        ('[{"brand": ""}]', "brand is a non-empty text"),
    ],
)
def test_a_malformed_setting_is_refused_with_every_problem(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_polling_groups(text)
