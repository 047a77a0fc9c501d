"""Quality and source packed into one stored smallint: every pair round-trips, unknown values are refused."""

from __future__ import annotations

from itertools import product

import pytest

from hes.db.enums import ReadingQuality, ReadingSource
from hes.db.store.reading_flags import pack, pack_columns, unpack

PAIRS = list(product(ReadingQuality, ReadingSource))


@pytest.mark.parametrize(("quality", "source"), PAIRS)
def test_every_pair_round_trips(quality: ReadingQuality, source: ReadingSource) -> None:
    flags = pack(quality, source)
    assert unpack(flags) == (quality, source)
    assert type(unpack(flags)[0]) is ReadingQuality and type(unpack(flags)[1]) is ReadingSource


def test_every_pair_has_its_own_value_within_a_positive_smallint() -> None:
    packed = [pack(quality, source) for quality, source in PAIRS]
    assert len(set(packed)) == len(PAIRS)
    assert all(0 <= flags <= 32_767 for flags in packed)


def test_the_layout_is_source_high_byte_quality_low_byte() -> None:
    # The stored format: migration 0004 writes it in SQL, so it must not drift.
    assert pack(ReadingQuality.GOOD, ReadingSource.DLMS_POLL) == 0  # the column default
    assert pack(ReadingQuality.SUSPECT, ReadingSource.MQTT) == 0x0302
    assert pack(ReadingQuality.MISSING, ReadingSource.IMPORT) == 0x0503


def test_columns_pack_like_single_readings_and_accept_plain_integers() -> None:
    qualities = [quality for quality, _ in PAIRS]
    sources = [source for _, source in PAIRS]
    assert pack_columns(qualities, sources) == [pack(quality, source) for quality, source in PAIRS]
    assert pack_columns([2, 0], [3, 2]) == [pack(ReadingQuality.SUSPECT, ReadingSource.MQTT), 0x0200]
    assert pack_columns([], []) == []


@pytest.mark.parametrize(
    ("qualities", "sources", "says"),
    [
        ([0, 9], [0, 0], "quality 9 and source 0"),
        ([0], [42], "quality 0 and source 42"),
        ([0, 0], [0], "shorter"),
    ],
)
def test_columns_refuse_what_is_not_a_known_pair(qualities: list[int], sources: list[int], says: str) -> None:
    with pytest.raises(ValueError, match=says):
        pack_columns(qualities, sources)


@pytest.mark.parametrize(("quality", "source"), [(9, 0), (0, 42), (-1, 0)])
def test_pack_refuses_values_outside_the_enums(quality: int, source: int) -> None:
    with pytest.raises(ValueError, match="is not a valid"):
        pack(quality, source)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("flags", "says"), [(0x0907, "quality 7 and source 9"), (0x0004, "quality 4 and source 0"), (-1, "0x")]
)
def test_unknown_stored_flags_are_refused_by_name(flags: int, says: str) -> None:
    with pytest.raises(ValueError, match=f"stored reading flags .*{says}"):
        unpack(flags)
