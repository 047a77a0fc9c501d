"""The connection token bucket, counted on a hand-driven clock."""

from __future__ import annotations

import pytest

from hes.connectivity.rate_limit import TokenBucket


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _granted(bucket: TokenBucket) -> int:
    taken = 0
    while bucket.delay() == 0:
        bucket.take()
        taken += 1
    return taken


def test_a_burst_then_the_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=8, burst=4, clock=clock)
    assert _granted(bucket) == 4
    assert bucket.delay() == pytest.approx(1 / 8)
    clock.now += 1.0
    assert _granted(bucket) == 4  # 8 refilled, but the bucket holds 4
    clock.now += 0.25
    assert _granted(bucket) == 2  # 2 tokens in a quarter of a second at 8/s
    total = 0
    for _ in range(40):  # 10 s in quarter seconds: never more than the rate allows
        clock.now += 0.25
        total += _granted(bucket)
    assert total == 80


def test_taking_without_a_token_and_bad_parameters_are_refused() -> None:
    bucket = TokenBucket(rate=1, burst=1, clock=Clock())
    bucket.take()
    with pytest.raises(RuntimeError):
        bucket.take()
    with pytest.raises(ValueError):
        TokenBucket(rate=0, burst=1)
    with pytest.raises(ValueError):
        TokenBucket(rate=1, burst=0)
