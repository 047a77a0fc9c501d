"""The profile build: run on the vendors' lists it reproduces the committed profile files exactly."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from hes.obis.build_profiles import main
from hes.obis.build_profiles.cli import DATA_DIRECTORY

# The vendors' lists ship beside the repository (DESIGN.md, "Reference data"), not inside it.
SOURCES = Path(__file__).resolve().parents[4] / "shared" / "obis"


@pytest.mark.skipif(not (SOURCES / "hexing-obis-functions.txt").is_file(), reason="the vendors' OBIS lists are absent")
def test_the_build_reproduces_the_committed_profiles(tmp_path: Path) -> None:
    assert main([str(SOURCES), "--out", str(tmp_path)]) == 0
    for brand in ("hexing", "hexcell"):
        built = (tmp_path / f"{brand}.csv").read_text(encoding="utf-8")
        assert built == (DATA_DIRECTORY / f"{brand}.csv").read_text(encoding="utf-8"), brand


def test_a_missing_list_fails_with_its_name(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        assert main([str(tmp_path), "--out", str(tmp_path)]) == 1
    assert "hexing-obis-functions.txt" in caplog.text
    assert not list(tmp_path.iterdir())
