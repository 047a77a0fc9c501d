"""Rate limits (login attempts) on the `limits` library; memory or Redis storage from settings."""

from __future__ import annotations

from limits import parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from hes.errors import TooManyRequests


class LoginRateLimiter:
    """Counts login attempts per client address and per username, in a moving window."""

    def __init__(self, limit: str, storage_url: str) -> None:
        self._item = parse(limit)
        self._storage = storage_from_string(_async_url(storage_url))
        self._limiter = MovingWindowRateLimiter(self._storage)

    async def check(self, client_address: str, username: str) -> None:
        """Count one attempt.

        Raises:
            TooManyRequests: too many attempts from this address or for this username.
        """
        by_address = await self._limiter.hit(self._item, "login-address", client_address)
        by_username = await self._limiter.hit(self._item, "login-username", username.lower())
        if not (by_address and by_username):
            raise TooManyRequests(f"too many login attempts; limit is {self._item}, try again later")

    def close(self) -> None:
        """Stop the in-memory storage's expiry task, which `limits` leaves running (Redis storage has none)."""
        timer = getattr(self._storage, "timer", None)
        if timer is not None and not timer.done():
            timer.cancel()


def _async_url(storage_url: str) -> str:
    return storage_url if storage_url.startswith("async+") else f"async+{storage_url}"
