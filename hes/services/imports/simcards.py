"""SIM card rows: simNumber,iccid,imsi,msisdn,provider,status,ipAddress,apn,dataLimit,activationDate."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from hes import validation
from hes.db.enums import SimStatus
from hes.db.store import imports as store
from hes.db.store.imports import NewSimCard
from hes.db.tables import SimCard
from hes.services.imports.entity import EntityImporter, drafted
from hes.services.imports.report import ImportEntity
from hes.services.imports.rows import (
    Cells,
    ParsedRow,
    choice,
    identifier,
    max_length,
    spellings_of,
    whole_number,
)
from hes.services.imports.templates import TEMPLATES

_sim_number = identifier("a SIM number")
_status = choice(spellings_of(SimStatus, enabled=SimStatus.ACTIVE, disabled=SimStatus.INACTIVE))
_SIM_NUMBER_LENGTH = max_length(SimCard.sim_number)
_PROVIDER_LENGTH = max_length(SimCard.provider)
_APN_LENGTH = max_length(SimCard.apn)


def _apn(value: str) -> str:
    if len(value) > _APN_LENGTH:
        raise ValueError(f"an APN is at most {_APN_LENGTH} characters")
    return validation.apn(value)


def _data_limit(value: str) -> int:
    megabytes = whole_number(value)
    if megabytes > validation.MAX_DATA_LIMIT_MB:
        raise ValueError(f"megabytes per month, at most {validation.MAX_DATA_LIMIT_MB}")
    return megabytes


class SimCardImporter(EntityImporter[NewSimCard, NewSimCard]):
    """Adds SIM cards to the stock; unique by simNumber, ICCID and IMSI."""

    template = TEMPLATES[ImportEntity.SIMCARDS]
    audit_entity = "sim_card"
    unique_columns = {  # noqa: RUF012 (read-only table)
        "simNumber": "the SIM number repeats row {row}",
        "iccid": "the ICCID repeats row {row}",
        "imsi": "the IMSI repeats row {row}",
    }

    def read(self, cells: Cells) -> NewSimCard | None:
        """A SIM card from its cells."""
        number = cells.check("simNumber", _sim_number, required=True, limit=_SIM_NUMBER_LENGTH)
        iccid = cells.check("iccid", validation.iccid, required=True)
        imsi = cells.check("imsi", validation.imsi)
        for column, key in (("simNumber", number), ("iccid", iccid), ("imsi", imsi)):
            cells.key(column, key)
        sim = NewSimCard(
            sim_number=number or "",
            iccid=iccid or "",
            imsi=imsi,
            msisdn=cells.check("msisdn", validation.msisdn),
            provider=cells.text("provider", _PROVIDER_LENGTH),
            status=cells.check("status", _status) or SimStatus.AVAILABLE,
            ip_address=cells.check("ipAddress", validation.ip_address),
            apn=cells.check("apn", _apn),
            data_limit_mb=cells.check("dataLimit", _data_limit),
            activation_date=cells.check("activationDate", validation.calendar_date),
        )
        return sim

    async def check(self, session: AsyncSession, rows: Sequence[ParsedRow[NewSimCard]]) -> list[NewSimCard]:
        """Refuse SIM numbers, ICCIDs and IMSIs already stored."""
        candidates = drafted(rows)
        taken = {
            "simNumber": await store.existing(session, SimCard.sim_number, {sim.sim_number for _, sim in candidates}),
            "iccid": await store.existing(session, SimCard.iccid, {sim.iccid for _, sim in candidates}),
            "imsi": await store.existing(session, SimCard.imsi, {sim.imsi for _, sim in candidates if sim.imsi}),
        }
        ready: list[NewSimCard] = []
        for parsed, sim in candidates:
            for column, key in (("simNumber", sim.sim_number), ("iccid", sim.iccid), ("imsi", sim.imsi)):
                if key in taken[column] and not parsed.failed_on(column):
                    parsed.fail(column, "a SIM card with this value already exists", key)
            if parsed.ok:
                ready.append(sim)
        return ready

    async def write(self, session: AsyncSession, ready: Sequence[NewSimCard]) -> None:
        """Insert the SIM cards."""
        await store.insert_sim_cards(session, ready, self.context.at)
