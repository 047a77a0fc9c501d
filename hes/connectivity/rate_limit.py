"""A token bucket: at most `burst` new connections at once, refilled at `rate` a second (OSGP's 30/s default)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

__all__ = ["TokenBucket"]


class TokenBucket:
    """Tokens refill continuously at `rate` per second up to `burst`; each new connection takes one.

    Raises:
        ValueError: a rate that is not positive or a burst below 1.
    """

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a token bucket needs a positive rate and a burst of at least 1")
        self._rate = rate
        self._burst = float(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._stamp = clock()

    def delay(self) -> float:
        """Seconds until a token is available (0: one is available now)."""
        self._refill()
        return 0.0 if self._tokens >= 1 else (1 - self._tokens) / self._rate

    def take(self) -> None:
        """Take a token; call only when `delay()` is 0.

        Raises:
            RuntimeError: no token is available.
        """
        self._refill()
        if self._tokens < 1:
            raise RuntimeError("no connection token available")
        self._tokens -= 1

    async def acquire(self) -> None:
        """Wait for a token and take it."""
        while (wait := self.delay()) > 0:
            await asyncio.sleep(wait)
        self._tokens -= 1

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now
