"""Login rate limiting: per client address and per username, in a moving window."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from hes.errors import TooManyRequests
from hes.security.rate_limit import LoginRateLimiter


@pytest.fixture(autouse=True)
async def _let_expiry_tasks_finish() -> AsyncIterator[None]:
    """The `limits` memory storage expires old hits in a background task; let it end before the loop does."""
    yield
    pending = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    await asyncio.gather(*pending, return_exceptions=True)


async def test_attempts_past_the_limit_are_refused() -> None:
    limiter = LoginRateLimiter("3/minute", "memory://")
    for _ in range(3):
        await limiter.check("10.0.0.1", "ada")
    with pytest.raises(TooManyRequests, match="3 per 1 minute"):
        await limiter.check("10.0.0.1", "ada")


async def test_one_username_is_limited_across_addresses() -> None:
    limiter = LoginRateLimiter("2/minute", "memory://")
    await limiter.check("10.0.0.1", "ada")
    await limiter.check("10.0.0.2", "ADA")  # usernames are counted case-insensitively
    with pytest.raises(TooManyRequests):
        await limiter.check("10.0.0.3", "Ada")
    await limiter.check("10.0.0.4", "bola")  # someone else is not affected


async def test_one_address_is_limited_across_usernames() -> None:
    limiter = LoginRateLimiter("2/minute", "memory://")
    await limiter.check("10.0.0.9", "ada")
    await limiter.check("10.0.0.9", "bola")
    with pytest.raises(TooManyRequests):
        await limiter.check("10.0.0.9", "chidi")
    await limiter.check("10.0.0.10", "chidi")


async def test_limiters_do_not_share_memory_storage() -> None:
    first = LoginRateLimiter("1/minute", "memory://")
    second = LoginRateLimiter("1/minute", "async+memory://")
    await first.check("10.0.0.1", "ada")
    await second.check("10.0.0.1", "ada")
    with pytest.raises(TooManyRequests):
        await first.check("10.0.0.1", "ada")


def test_a_bad_limit_is_refused_at_start() -> None:
    with pytest.raises(ValueError):
        LoginRateLimiter("often", "memory://")
