"""The codes an on-demand read takes: the brand's main registers by default, else every code checked."""

from __future__ import annotations

import pytest

from hes.connectivity.catalogue import main_registers
from hes.connectivity.on_demand import MAX_CODES, wanted_codes
from hes.errors import InvalidInput
from hes.obis.codes import ObisCode


def test_without_codes_the_main_registers_and_repeated_spellings_once() -> None:
    assert wanted_codes("hexing", None) == list(main_registers("hexing")) == wanted_codes("hexing", [])
    assert wanted_codes("idis", ["1-0:1.8.0.255", "1.0.1.8.0.255", "1-0:1.8.0*255"]) == [
        ObisCode.parse("1-0:1.8.0.255")
    ]


def test_every_bad_code_is_listed_by_position() -> None:
    with pytest.raises(InvalidInput) as refused:
        wanted_codes("idis", ["1-0:1.8.0.255", "x", "1-0:91.7.0.255", "0-0:1.0.0.255"])
    fields = [problem.field for problem in refused.value.problems]
    assert fields == ["obis.1", "obis.2", "obis.3"]  # malformed, not in the IDIS profile, a clock (class 8)
    with pytest.raises(InvalidInput):
        wanted_codes("idis", ["1-0:1.8.0.255"] * (MAX_CODES + 1))
