"""SIM cards: the stock of cellular links and which meter each one is in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from hes.db.enums import SimStatus
from hes.db.store import assignments as assignment_store
from hes.db.store import audit, meters, sims
from hes.db.tables import Meter, SimCard
from hes.errors import Conflict, NotFound, Problem
from hes.services import areas, assignments
from hes.services.assignments import AssignmentView
from hes.services.listing import Listing, Pagination
from hes.services.principal import Principal

_FIELD_NAMES = {"simNumber": "SIM number", "iccid": "ICCID", "imsi": "IMSI"}


@dataclass(frozen=True)
class SimFields:
    """Editable fields of a SIM card."""

    sim_number: str | None = None
    iccid: str | None = None
    imsi: str | None = None
    msisdn: str | None = None
    provider: str | None = None
    status: SimStatus | None = None
    ip_address: str | None = None
    apn: str | None = None
    data_limit_mb: int | None = None
    activation_date: date | None = None


@dataclass(frozen=True)
class SimFilters:
    """What a SIM card list is narrowed to; `area` keeps SIMs in meters of that area."""

    area: str | None = None
    status: SimStatus | None = None
    provider: str | None = None
    assigned: bool | None = None


@dataclass(frozen=True)
class SimView:
    """A SIM card and the meter it is in (None: in stock)."""

    sim: SimCard
    meter: Meter | None


async def list_sims(
    session: AsyncSession,
    principal: Principal,
    pagination: Pagination,
    filters: SimFilters,
    search: str | None = None,
    sort: str | None = None,
) -> Listing[SimView]:
    """SIM cards the caller may see (in stock, or in a meter of the caller's areas), one page."""
    meter_area_ids = await areas.resolve_area_filter(session, principal, filters.area) if filters.area else None
    rows, total = await sims.page(
        session,
        offset=pagination.offset,
        limit=pagination.limit,
        search=search,
        sort=sort,
        status=filters.status,
        provider=filters.provider,
        assigned=filters.assigned,
        meter_area_ids=meter_area_ids,
        visible_area_ids=principal.area_ids or None,
    )
    holders = await meters.on_sims(session, (sim.id for sim in rows))
    return Listing([SimView(sim, holders.get(sim.id)) for sim in rows], total, pagination)


async def get_sim(session: AsyncSession, principal: Principal, sim_card_id: int) -> SimView:
    """One SIM card the caller may see, with the meter it is in.

    Raises:
        NotFound: no such SIM card, or it is in a meter outside the caller's areas.
    """
    sim = await sims.by_id(session, sim_card_id)
    holder = await meters.by_sim(session, sim_card_id) if sim is not None else None
    if sim is None or (holder is not None and not principal.may_see_area(holder.area_id)):
        raise NotFound("SIM card", sim_card_id)
    return SimView(sim, holder)


async def create_sim(session: AsyncSession, principal: Principal, new: SimFields) -> SimView:
    """Add a SIM card to the stock.

    Raises:
        Conflict: the SIM number, ICCID or IMSI is taken (each one listed).
    """
    assert new.sim_number is not None and new.iccid is not None
    changes = {name: value for name, value in vars(new).items() if value is not None}
    await _refuse_duplicates(session, changes, None)
    sim = SimCard(**changes)
    session.add(sim)
    await session.flush()
    audit.record(session, principal.username, "create", "sim", sim.id, _audit_details(changes))
    await session.commit()
    return SimView(sim, None)


async def update_sim(
    session: AsyncSession, principal: Principal, sim_card_id: int, update: SimFields, provided: frozenset[str]
) -> SimView:
    """Change the `provided` fields of a SIM card (a provided None clears an optional field).

    Raises:
        NotFound: no such SIM card. Conflict: an identifier is taken, or "available" while in a meter.
        PermissionDenied: the SIM is in a meter outside the caller's areas.
    """
    view = await get_sim(session, principal, sim_card_id)
    if view.meter is not None:
        principal.require_area(view.meter.area_id)
    changes = {name: getattr(update, name) for name in provided}
    await _refuse_duplicates(session, changes, view.sim.id)
    if changes.get("status") is SimStatus.AVAILABLE and view.meter is not None:
        problem = Problem(f"it is in meter {view.meter.meter_number}; take it out of the meter first", field="status")
        raise Conflict("a SIM card in a meter is not available", [problem])
    for name, value in changes.items():
        setattr(view.sim, name, value)
    audit.record(session, principal.username, "update", "sim", view.sim.id, _audit_details(changes))
    await session.commit()
    return view


async def delete_sim(session: AsyncSession, principal: Principal, sim_card_id: int) -> None:
    """Delete a SIM card that never served a meter.

    Raises:
        NotFound: no such SIM card. Conflict: it is in a meter, or has history (set it inactive instead).
    """
    view = await get_sim(session, principal, sim_card_id)
    if view.meter is not None:
        raise Conflict(f"the SIM card is in meter {view.meter.meter_number}; take it out of the meter first")
    if await assignment_store.exists_for(session, sim_card_id=view.sim.id):
        raise Conflict("the SIM card has served meters and its history is kept; set its status to inactive instead")
    await session.delete(view.sim)
    audit.record(session, principal.username, "delete", "sim", sim_card_id, {"simNumber": view.sim.sim_number})
    await session.commit()


async def sim_history(
    session: AsyncSession, principal: Principal, sim_card_id: int, pagination: Pagination
) -> Listing[AssignmentView]:
    """Every meter the SIM card served and when, newest first.

    Raises:
        NotFound: no such SIM card, or not visible to the caller.
    """
    view = await get_sim(session, principal, sim_card_id)
    return await assignments.history(session, pagination, sim_card_id=view.sim.id)


async def _refuse_duplicates(session: AsyncSession, changes: Mapping[str, object], except_id: int | None) -> None:
    def text(name: str) -> str | None:
        value = changes.get(name)
        return value if isinstance(value, str) else None

    taken = await sims.taken_identifiers(session, text("sim_number"), text("iccid"), text("imsi"), except_id=except_id)
    if taken:
        problems = [Problem(f"another SIM card has this {_FIELD_NAMES[name]}", field=name) for name in taken]
        raise Conflict("SIM card already registered", problems)


def _audit_details(changes: Mapping[str, object]) -> dict[str, object]:
    return {name: value.isoformat() if isinstance(value, date) else value for name, value in changes.items()}
