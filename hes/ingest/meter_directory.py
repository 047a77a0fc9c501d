"""Who a meter number (or id) is, from memory: the hot path never queries `meters` per request.

Misses are fetched in bulk and kept until the whole cache expires (`ttl` seconds after it was last
emptied), so a meter moved to another area or concentrator is seen within `ttl`. Expiring all at once
keeps a hit to one dictionary lookup, with no per-entry clock check. Numbers no meter has are remembered
for `unknown_ttl` seconds, so a sender repeating an unknown number does not turn every request into a
query; a number that cannot be a meter number (`plausible_number`) is never sent to the database. The
cache is emptied when it grows past `max_entries` (a bound on memory far above a utility's fleet).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hes import validation
from hes.db.store import meter_contact
from hes.db.store.meter_contact import MeterRef


class MeterDirectory:
    """Meter numbers and ids to MeterRef (id, number, concentrator, area code), cached and refreshed on miss."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        ttl: float = 60.0,
        unknown_ttl: float = 5.0,
        max_entries: int = 2_000_000,
        plausible_number: Callable[[str], bool] = lambda number: True,
    ) -> None:
        self._sessions = sessions
        self._ttl = ttl
        self._unknown_ttl = unknown_ttl
        self._max_entries = max_entries
        self._plausible_number = plausible_number
        self._by_number: dict[str, MeterRef] = {}
        self._by_id: dict[int, MeterRef] = {}
        self._unknown_numbers: dict[str, float] = {}  # number -> when to ask again
        self._unknown_ids: dict[int, float] = {}
        self._expires_at = -1.0

    async def by_numbers(self, numbers: Collection[str]) -> dict[str, MeterRef]:
        """The meters with these numbers; numbers no meter has are left out.

        Raises:
            sqlalchemy.exc.DBAPIError, OSError: a miss needed the database and it did not answer.
        """
        now = self._expire()
        by_number = self._by_number
        missing = [number for number in numbers if number not in by_number]
        if missing:
            asked = [number for number in missing if self._unknown_numbers.get(number, 0.0) <= now]
            plausible = [number for number in asked if self._plausible_number(number)]
            if plausible:
                async with self._sessions() as session:
                    self._remember(await meter_contact.by_numbers(session, plausible))
            for number in asked:
                if number not in by_number:
                    self._unknown_numbers[number] = now + self._unknown_ttl
        return {number: ref for number in numbers if (ref := by_number.get(number)) is not None}

    async def by_ids(self, meter_ids: Collection[int]) -> dict[int, MeterRef]:
        """The meters with these ids; ids no meter has are left out.

        Raises:
            sqlalchemy.exc.DBAPIError, OSError: a miss needed the database and it did not answer.
        """
        now = self._expire()
        by_id = self._by_id
        missing = [meter_id for meter_id in meter_ids if meter_id not in by_id]
        if missing:
            asked = [meter_id for meter_id in missing if self._unknown_ids.get(meter_id, 0.0) <= now]
            if asked:
                async with self._sessions() as session:
                    self._remember(await meter_contact.by_ids(session, asked))
            for meter_id in asked:
                if meter_id not in by_id:
                    self._unknown_ids[meter_id] = now + self._unknown_ttl
        return {meter_id: ref for meter_id in meter_ids if (ref := by_id.get(meter_id)) is not None}

    async def known_ids(self, meter_ids: set[int]) -> set[int]:
        """Which of `meter_ids` belong to meters (a set difference when all are cached)."""
        # A keys view, not the dict: set.issubset(dict) first copies the whole directory into a set, every call.
        if self._by_id.keys() >= meter_ids and self._expires_at > time.monotonic():
            return meter_ids
        return set(await self.by_ids(meter_ids))

    def forget(self) -> None:
        """Drop every entry (after meters were renumbered or moved in bulk)."""
        self._by_number.clear()
        self._by_id.clear()
        self._unknown_numbers.clear()
        self._unknown_ids.clear()

    def _expire(self) -> float:
        now = time.monotonic()
        if len(self._unknown_numbers) + len(self._unknown_ids) > self._max_entries:
            self._unknown_numbers.clear()  # a flood of made-up numbers must not grow memory
            self._unknown_ids.clear()
        if now >= self._expires_at:
            self.forget()
            self._expires_at = now + self._ttl
        return now

    def _remember(self, refs: list[MeterRef]) -> None:
        if len(self._by_id) + len(refs) > self._max_entries:
            self.forget()
        for ref in refs:
            self._by_number[ref.meter_number] = ref
            self._by_id[ref.id] = ref


def plausible_meter_number(number: str) -> bool:
    """True for text that may be a meter number (hes.validation's rule); anything else names no meter."""
    try:
        validation.meter_number(number)
    except ValueError:
        return False
    return True
