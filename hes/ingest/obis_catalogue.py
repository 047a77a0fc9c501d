"""Which OBIS codes readings may carry, and the 2-byte id each is stored under, kept in memory.

The catalogue is the union of the brand profiles' codes (package data, hes/obis/data) and the
`obis_codes` table (codes HES Core has stored readings for). Ids are cached only once committed, so a
rolled-back batch can never leave an id in memory that the table does not hold.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Collection

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hes.db.store import obis_codes
from hes.db.store.obis_codes import ObisDescription
from hes.obis.codes import ObisCode
from hes.obis.profiles import available_brands, load_profile

logger = logging.getLogger(__name__)

INVALID_OBIS = "invalid_obis"
UNKNOWN_OBIS = "unknown_obis"
# Lengths of obis_codes.name and obis_codes.unit.
_NAME_LENGTH, _UNIT_LENGTH = 120, 16


class ObisCatalogue:
    """Known OBIS codes (profiles and table), their spellings as senders write them, and their stored ids."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        table_refresh: float = 10.0,
        max_spellings: int = 100_000,
    ) -> None:
        self._sessions = sessions
        # An unknown code re-reads the table at most this often (seconds): a sender repeating a bad code
        # must not turn every request into a query.
        self._table_refresh = table_refresh
        self._max_spellings = max_spellings
        self._described: dict[ObisCode, ObisDescription] | None = None
        self._ids: dict[ObisCode, int] = {}
        self._table_units: dict[ObisCode, str | None] = {}
        self._table_read_at = -math.inf
        self._spellings: dict[str, ObisCode] = {}

    async def resolve(self, texts: Collection[str]) -> tuple[dict[str, ObisCode], dict[str, str]]:
        """The code each text names, and for the others why not: `INVALID_OBIS` or `UNKNOWN_OBIS`.

        Raises:
            sqlalchemy.exc.DBAPIError, OSError: an unknown code needed the table and the database did not answer.
        """
        found: dict[str, ObisCode] = {}
        problems: dict[str, str] = {}
        unknown: dict[str, ObisCode] = {}
        for text in texts:
            code = self._spellings.get(text)
            if code is not None:
                found[text] = code
                continue
            try:
                code = ObisCode.parse(text)
            except ValueError:
                problems[text] = INVALID_OBIS
                continue
            if self._is_known(code):
                found[text] = self._remember(text, code)
            else:
                unknown[text] = code
        if unknown and time.monotonic() - self._table_read_at >= self._table_refresh:
            await self._read_table()
        for text, code in unknown.items():
            if self._is_known(code):
                found[text] = self._remember(text, code)
            else:
                problems[text] = UNKNOWN_OBIS
        return found, problems

    async def ids_of(self, codes: Collection[ObisCode]) -> dict[ObisCode, int]:
        """The stored id of each code, adding table rows (with the profile's name and unit) for new ones.

        Rows are added in a transaction of their own, committed before any reading refers to them.

        Raises:
            sqlalchemy.exc.DBAPIError, OSError: a new code needed the database and it did not answer.
        """
        missing = [code for code in codes if code not in self._ids]
        if missing:
            described = self._profiles()
            descriptions = {code: described[code] for code in missing if code in described}
            async with self._sessions() as session:
                created = await obis_codes.get_or_create_ids(session, missing, descriptions)
                await session.commit()
            self._ids.update(created)
        return {code: self._ids[code] for code in codes}

    async def units_of(self, codes: Collection[ObisCode]) -> dict[ObisCode, str | None]:
        """The unit readings of each code are stored in: the table's, else the brand profile's (None: unknown).

        Raises:
            sqlalchemy.exc.DBAPIError, OSError: the table was never read yet and the database did not answer.
        """
        if self._table_read_at == -math.inf:
            await self._read_table()
        described = self._profiles()
        return {
            code: self._table_units[code] if code in self._table_units else _unit(described.get(code)) for code in codes
        }

    def _is_known(self, code: ObisCode) -> bool:
        return code in self._ids or code in self._profiles()

    def _remember(self, text: str, code: ObisCode) -> ObisCode:
        if len(self._spellings) >= self._max_spellings:
            self._spellings.clear()  # odd spellings ("01-0:1.8.0.255") must not grow memory without end
        self._spellings[text] = code
        return code

    async def _read_table(self) -> None:
        async with self._sessions() as session:
            entries = await obis_codes.entries(session)
        self._ids.update({entry.code: entry.id for entry in entries.values()})
        self._table_units.update({entry.code: entry.unit for entry in entries.values()})
        self._table_read_at = time.monotonic()

    def _profiles(self) -> dict[ObisCode, ObisDescription]:
        if self._described is None:
            described: dict[ObisCode, ObisDescription] = {}
            for brand in available_brands():
                for spec in load_profile(brand):
                    unit = spec.unit_symbol
                    described.setdefault(
                        spec.obis,
                        ObisDescription(spec.name[:_NAME_LENGTH], unit[:_UNIT_LENGTH] if unit else None),
                    )
            self._described = described
            logger.debug("OBIS catalogue: %d codes from %d brand profiles", len(described), len(available_brands()))
        return self._described


def _unit(described: ObisDescription | None) -> str | None:
    return described.unit if described is not None else None
