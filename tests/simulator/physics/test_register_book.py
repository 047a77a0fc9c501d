"""Tests of register checkpoints: reading any day costs a few days of work at most."""

from __future__ import annotations

import pytest

from hes.simulator.physics.register_book import RegisterBook, Totals

_ONE_EACH: Totals = (1,) * 14


class _Counter:
    """A day advance of one unit per register per day, counting how many days were computed."""

    def __init__(self) -> None:
        self.days: list[int] = []

    def __call__(self, day: int) -> Totals:
        self.days.append(day)
        return _ONE_EACH


def test_reading_rolls_forward_from_the_nearest_checkpoint() -> None:
    book, counter = RegisterBook(100, (0,) * 14), _Counter()

    assert book.at_day_start(100, counter) == (0,) * 14
    assert book.at_day_start(150, counter) == (50,) * 14
    assert len(counter.days) == 50
    assert book.at_day_start(151, counter) == (51,) * 14
    assert len(counter.days) == 51, "one more day from the latest checkpoint"
    assert book.at_day_start(120, counter) == (20,) * 14
    assert len(counter.days) <= 51 + 15, "from a kept checkpoint, at most 15 days"


def test_forgetting_drops_checkpoints_after_a_change() -> None:
    book, counter = RegisterBook(0, (0,) * 14), _Counter()
    book.at_day_start(40, counter)

    book.forget_after(20 * 86_400)  # a change at 00:00 of day 20: that day's start is still valid
    counter.days.clear()
    assert book.at_day_start(40, counter) == (40,) * 14
    assert counter.days == list(range(16, 40)), "rolled from the day-16 checkpoint"


def test_no_reading_before_installation() -> None:
    with pytest.raises(ValueError, match="not installed"):
        RegisterBook(10, (0,) * 14).at_day_start(9, _Counter())


def test_forgetting_keeps_the_first_checkpoint() -> None:
    # An anchored book starts after installation; a change before its start cannot drop what it starts from.
    book, counter = RegisterBook(30, (5,) * 14), _Counter()
    book.at_day_start(40, counter)

    book.forget_after(10 * 86_400)
    assert book.at_day_start(32, counter) == (7,) * 14
