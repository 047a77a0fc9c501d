"""Invocation counters of ciphered meters: the next one in memory, and a ceiling made durable before use.

AES-GCM must never see the same key and IV twice, and the IV is the HES's system title plus the invocation
counter (IEC 62056-5-3 9.2.7.2.4.5): a HES that restarts and uses a counter again reuses an IV. So before a
session may use counters, the stored value (meters.dlms_invocation_counter) is raised to a ceiling well above them
(`reserve` ahead); after a restart sessions start from that ceiling, above anything used before. A ceiling is
written only when fewer than `low_water` counters are left below it, so most sessions cost no write; the writes
of sessions starting together share one transaction. Meters accept any counter above the last they saw, so
skipping ahead is harmless (the counter is 32 bits: 430,000 reservations of 10,000).
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hes.connectivity.dlms.link import MAX_INVOCATION_COUNTER
from hes.connectivity.meter_links import MeterTarget
from hes.db.store import meter_links

__all__ = ["InvocationCounters"]

logger = logging.getLogger(__name__)

RESERVE = 10_000
LOW_WATER = 2_000  # counters one session may use at most before its ceiling must be raised: a week of profile
FAILED_ASSOCIATION_MARGIN = 16  # counters an association that failed may have used (AARQ, HLS pass 3 and 4)


class InvocationCounters:
    """The next invocation counter per ciphered meter, each used only below a durable ceiling."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], reserve: int = RESERVE, low_water: int = LOW_WATER
    ) -> None:
        if not 0 < low_water < reserve:
            raise ValueError("0 < low_water < reserve")
        self._sessions = sessions
        self._reserve = reserve
        self._low_water = low_water
        self._next: dict[int, int] = {}
        self._ceiling: dict[int, int] = {}
        self._pending: dict[int, int] = {}
        self._written: asyncio.Future[None] | None = None
        self._writer: asyncio.Task[None] | None = None

    def next_of(self, meter_id: int) -> int | None:
        """The next counter known for the meter in this process (None: none used yet)."""
        return self._next.get(meter_id)

    async def take(self, target: MeterTarget) -> int:
        """The counter a session with `target` starts from; its ceiling is durable when this returns.

        Raises:
            sqlalchemy.exc.DBAPIError, OSError: the ceiling could not be written; no counter may be used.
        """
        meter_id = target.meter_id
        counter = max(self._next.get(meter_id, 0), target.invocation_counter)
        ceiling = max(self._ceiling.get(meter_id, 0), target.invocation_counter)
        if ceiling - counter < self._low_water:
            await self._raise(meter_id, min(counter + self._reserve, MAX_INVOCATION_COUNTER))
        self._next[meter_id] = counter
        return counter

    def used(self, meter_id: int, next_counter: int) -> None:
        """A session ended with `next_counter` as its next counter (only ever moves forward)."""
        self._next[meter_id] = max(self._next.get(meter_id, 0), next_counter)

    def failed(self, meter_id: int, started_at: int) -> None:
        """An association started at `started_at` failed: skip what it may have used."""
        self.used(meter_id, started_at + FAILED_ASSOCIATION_MARGIN)

    async def _raise(self, meter_id: int, ceiling: int) -> None:
        self._pending[meter_id] = max(self._pending.get(meter_id, 0), ceiling)
        if self._written is None:
            loop = asyncio.get_running_loop()
            self._written = loop.create_future()
            # The task runs on the loop's next turn: every session that asks before then shares its transaction.
            self._writer = loop.create_task(self._write(), name="hes-invocation-counters")
        written = self._written
        await asyncio.shield(written)
        self._ceiling[meter_id] = max(self._ceiling.get(meter_id, 0), ceiling)

    async def _write(self) -> None:
        pending, self._pending = self._pending, {}
        written, self._written = self._written, None
        assert written is not None
        try:
            async with self._sessions() as session:
                await meter_links.raise_invocation_counters(session, pending)
                await session.commit()
        except Exception as error:
            logger.warning("invocation counter ceilings of %d meters not stored: %s", len(pending), error)
            written.set_exception(error)
            written.exception()  # retrieved here: each waiter raises its own copy
        else:
            written.set_result(None)
