"""Meters: the fleet register, each meter's customer and SIM card, and the DLMS settings that reach it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from hes.db.enums import ConnectionMode, DlmsAuthentication, DlmsTransport, MeterStatus, MeterType
from hes.db.store import areas as area_store
from hes.db.store import audit, customers, meters, sims
from hes.db.tables import Customer, Meter, SimCard, utc_now
from hes.errors import Conflict, InvalidInput, NotFound, Problem
from hes.security.secret_box import SecretBox
from hes.services import areas, assignments
from hes.services.assignments import AssignmentView
from hes.services.listing import Listing, Pagination
from hes.services.principal import Principal

# Write-only DLMS secrets and the columns that hold them sealed.
_SECRET_COLUMNS = {
    "dlms_password": "dlms_password_enc",
    "dlms_authentication_key": "dlms_authentication_key_enc",
    "dlms_block_cipher_key": "dlms_block_cipher_key_enc",
}
_LINK_FIELDS = frozenset({"customer_id", "sim_card_id"})
# A decommissioned meter may only go back to stock (refurbished); every other status may follow any other,
# since operators correct statuses the system set (online/offline) by hand.
_AFTER_DECOMMISSIONED = frozenset({MeterStatus.WAREHOUSE, MeterStatus.DECOMMISSIONED})


class Removal(StrEnum):
    """What a DELETE did: the record is gone, or kept with its history."""

    DELETED = "deleted"
    DECOMMISSIONED = "decommissioned"
    CLOSED = "closed"


@dataclass(frozen=True)
class MeterFields:
    """Editable fields of a meter; DLMS settings carry a `dlms_` prefix, secrets are plain text only here."""

    meter_number: str | None = None
    concentrator_id: str | None = None
    meter_type: MeterType | None = None
    brand: str | None = None
    model: str | None = None
    firmware: str | None = None
    ip_address: str | None = None
    port: int | None = None
    area_id: int | None = None
    customer_id: int | None = None
    sim_card_id: int | None = None
    status: MeterStatus | None = None
    installed_at: datetime | None = None
    connection_mode: ConnectionMode | None = None
    expected_interval_s: int | None = None
    export_allowed: bool | None = None
    dlms_transport: DlmsTransport | None = None
    dlms_client_address: int | None = None
    dlms_server_address: int | None = None
    dlms_physical_address: int | None = None
    dlms_authentication: DlmsAuthentication | None = None
    dlms_security_suite: int | None = None
    dlms_system_title: str | None = None
    dlms_password: str | None = field(default=None, repr=False)
    dlms_authentication_key: str | None = field(default=None, repr=False)
    dlms_block_cipher_key: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class MeterFilters:
    """What a meter list is narrowed to."""

    area: str | None = None
    status: MeterStatus | None = None
    brand: str | None = None
    meter_type: MeterType | None = None
    connection_mode: ConnectionMode | None = None
    customer_id: int | None = None
    concentrator_id: str | None = None


@dataclass(frozen=True)
class MeterRemoval:
    """The outcome of deleting a meter, with the meter when it was kept (decommissioned)."""

    outcome: Removal
    meter: Meter | None = None


def seal_password(box: SecretBox, password: str) -> bytes:
    """The stored form of a DLMS LLS password (its UTF-8 bytes, sealed)."""
    return box.seal(password.encode("utf-8"))


def seal_key(box: SecretBox, hex_key: str) -> bytes:
    """The stored form of an AES key given as hex (its raw bytes, sealed)."""
    return box.seal(bytes.fromhex(hex_key))


async def list_meters(
    session: AsyncSession,
    principal: Principal,
    pagination: Pagination,
    filters: MeterFilters,
    search: str | None = None,
    sort: str | None = None,
) -> Listing[Meter]:
    """Meters the caller may see, one page; a customer sees only their own meters."""
    customer_id = filters.customer_id
    if principal.is_customer:
        if principal.customer_id is None or customer_id not in (None, principal.customer_id):
            return Listing([], 0, pagination)
        customer_id = principal.customer_id
    area_ids = await areas.resolve_area_filter(session, principal, filters.area)
    rows, total = await meters.page(
        session,
        offset=pagination.offset,
        limit=pagination.limit,
        search=search,
        sort=sort,
        area_ids=area_ids,
        status=filters.status,
        brand=filters.brand,
        meter_type=filters.meter_type,
        connection_mode=filters.connection_mode,
        customer_id=customer_id,
        concentrator_id=filters.concentrator_id,
    )
    return Listing(rows, total, pagination)


async def get_meter(session: AsyncSession, principal: Principal, meter_id: int) -> Meter:
    """One meter the caller may see, with its area, customer and SIM card loaded.

    Raises:
        NotFound: no such meter, outside the caller's areas, or (for a customer) not theirs.
    """
    meter = await meters.by_id(session, meter_id)
    if meter is None or not _may_see(principal, meter):
        raise NotFound("meter", meter_id)
    return meter


async def create_meter(session: AsyncSession, principal: Principal, new: MeterFields, box: SecretBox) -> Meter:
    """Register a meter, linking its customer and SIM card if given.

    Raises:
        InvalidInput: unknown area, customer or SIM; incomplete DLMS security; starting decommissioned.
        Conflict: the meter number is taken. PermissionDenied: the area is outside the caller's areas.
    """
    assert new.meter_number is not None
    if new.status is MeterStatus.DECOMMISSIONED:
        raise InvalidInput("a new meter cannot start decommissioned", [Problem("not for a new meter", field="status")])
    changes = {spec.name: getattr(new, spec.name) for spec in fields(new) if getattr(new, spec.name) is not None}
    meter = Meter(status=MeterStatus.WAREHOUSE, dlms_authentication=DlmsAuthentication.NONE)
    customer, sim = await _check(session, principal, meter, changes)
    _set_columns(meter, changes, box)
    session.add(meter)
    await session.flush()
    await _relink(session, meter, MeterStatus.WAREHOUSE, changes, customer, sim, principal.username)
    audit.record(session, principal.username, "create", "meter", meter.id, _audit_details(changes))
    return await _finish(session, meter.id)


async def update_meter(
    session: AsyncSession,
    principal: Principal,
    meter_id: int,
    update: MeterFields,
    provided: frozenset[str],
    box: SecretBox,
) -> Meter:
    """Change the `provided` fields of a meter (a provided None clears it; for a secret, removes it).

    Setting status decommissioned releases the SIM card and customer, as DELETE does for a meter with history.

    Raises:
        NotFound: no such meter. InvalidInput: unknown linked ids, incomplete DLMS security.
        Conflict: meter number taken, linking a decommissioned meter, a status it cannot go to.
        PermissionDenied: the meter or its new area is outside the caller's areas.
    """
    meter = await get_meter(session, principal, meter_id)
    principal.require_area(meter.area_id)
    changes = {name: getattr(update, name) for name in provided}
    customer, sim = await _check(session, principal, meter, changes)
    was = meter.status
    _set_columns(meter, changes, box)
    await _relink(session, meter, was, changes, customer, sim, principal.username)
    audit.record(session, principal.username, "update", "meter", meter.id, _audit_details(changes))
    return await _finish(session, meter.id)


async def delete_meter(session: AsyncSession, principal: Principal, meter_id: int) -> MeterRemoval:
    """Delete a meter that never did anything; one with history is decommissioned instead, so nothing is lost.

    Raises:
        NotFound: no such meter. PermissionDenied: outside the caller's areas.
    """
    meter = await get_meter(session, principal, meter_id)
    principal.require_area(meter.area_id)
    if not await meters.has_history(session, meter.id):
        await session.delete(meter)
        audit.record(session, principal.username, "delete", "meter", meter_id, {"meterNumber": meter.meter_number})
        await session.commit()
        return MeterRemoval(Removal.DELETED)
    if meter.status is not MeterStatus.DECOMMISSIONED:
        await _decommission(session, meter, principal.username)
        audit.record(
            session, principal.username, "decommission", "meter", meter.id, {"meterNumber": meter.meter_number}
        )
    return MeterRemoval(Removal.DECOMMISSIONED, await _finish(session, meter.id))


async def meter_history(
    session: AsyncSession, principal: Principal, meter_id: int, pagination: Pagination
) -> Listing[AssignmentView]:
    """The meter's customer and SIM history, newest first; a customer sees only their own rows.

    Raises:
        NotFound: no such meter, or not visible to the caller.
    """
    meter = await get_meter(session, principal, meter_id)
    # Earlier occupants of the premises are none of the current customer's business.
    only_customer = principal.customer_id if principal.is_customer else None
    return await assignments.history(session, pagination, meter_id=meter.id, customer_id=only_customer)


def _may_see(principal: Principal, meter: Meter) -> bool:
    if principal.is_customer and (principal.customer_id is None or meter.customer_id != principal.customer_id):
        return False
    return principal.may_see_area(meter.area_id)


async def _check(
    session: AsyncSession, principal: Principal, meter: Meter, changes: Mapping[str, object]
) -> tuple[Customer | None, SimCard | None]:
    """Refuse the changes before anything is written; returns the customer and SIM card to link."""
    customer, sim = await _linked_records(session, principal, meter, changes)
    number = changes.get("meter_number")
    if isinstance(number, str) and await meters.number_exists(session, number, except_id=meter.id):
        raise Conflict("meter number already exists", [Problem(f"{number!r} is taken", field="meterNumber")])
    if "area_id" in changes:
        area_id = changes["area_id"]
        principal.require_area(area_id if isinstance(area_id, int) else None)
    wanted = changes.get("status")
    leaving = isinstance(wanted, MeterStatus) and wanted not in _AFTER_DECOMMISSIONED
    if meter.status is MeterStatus.DECOMMISSIONED and leaving:
        problem = Problem("a decommissioned meter can only go back to warehouse", field="status")
        raise Conflict(f"a decommissioned meter cannot become {wanted}", [problem])
    _check_dlms_security(meter, changes)
    return customer, sim


async def _linked_records(
    session: AsyncSession, principal: Principal, meter: Meter, changes: Mapping[str, object]
) -> tuple[Customer | None, SimCard | None]:
    problems: list[Problem] = []
    area_id = changes.get("area_id")
    if isinstance(area_id, int) and await area_store.by_id(session, area_id) is None:
        problems.append(Problem(f"no area {area_id}", field="areaId"))
    customer: Customer | None = None
    customer_id = changes.get("customer_id")
    if isinstance(customer_id, int):
        customer = await customers.by_id(session, customer_id)
        if customer is None or not principal.may_see_area(customer.area_id):
            problems.append(Problem(f"no customer {customer_id}", field="customerId"))
            customer = None
    sim: SimCard | None = None
    sim_card_id = changes.get("sim_card_id")
    if isinstance(sim_card_id, int):
        sim = await sims.by_id(session, sim_card_id)
        holder = await meters.by_sim(session, sim_card_id) if sim is not None else None
        # A SIM in a meter the caller cannot see is, for this caller, not there.
        hidden = holder is not None and holder.id != meter.id and not principal.may_see_area(holder.area_id)
        if sim is None or hidden:
            problems.append(Problem(f"no SIM card {sim_card_id}", field="simCardId"))
            sim = None
    if problems:
        raise InvalidInput("linked records not found", problems)
    return customer, sim


def _check_dlms_security(meter: Meter, changes: Mapping[str, object]) -> None:
    """The chosen authentication must have the secrets it needs (after this change)."""

    def will_have(secret: str) -> bool:
        if secret in changes:
            return changes[secret] is not None
        return getattr(meter, _SECRET_COLUMNS[secret]) is not None

    mechanism = changes.get("dlms_authentication", meter.dlms_authentication)
    needed: tuple[str, ...] = ()
    if mechanism is DlmsAuthentication.LLS:
        needed = ("dlms_password",)
    elif mechanism is DlmsAuthentication.HLS_GMAC:
        needed = ("dlms_authentication_key", "dlms_block_cipher_key")
    problems = [
        Problem(f"{mechanism} authentication needs it", field=f"dlms.{_wire_name(secret)}")
        for secret in needed
        if not will_have(secret)
    ]
    if problems:
        raise InvalidInput("incomplete DLMS security settings", problems)


def _set_columns(meter: Meter, changes: Mapping[str, object], box: SecretBox) -> None:
    """Write every change except the links (those go through the assignment history)."""
    for name, value in changes.items():
        if name in _LINK_FIELDS:
            continue
        if name in _SECRET_COLUMNS:
            setattr(meter, _SECRET_COLUMNS[name], _seal(box, name, value))
            if name == "dlms_block_cipher_key":
                meter.dlms_push_counter = None  # a meter given a new key counts its pushes afresh
        else:
            setattr(meter, name, value)


def _seal(box: SecretBox, name: str, value: object) -> bytes | None:
    if not isinstance(value, str):
        return None
    return seal_password(box, value) if name == "dlms_password" else seal_key(box, value)


async def _relink(
    session: AsyncSession,
    meter: Meter,
    was: MeterStatus,
    changes: Mapping[str, object],
    customer: Customer | None,
    sim: SimCard | None,
    actor: str,
) -> None:
    """Apply customer/SIM links and the status's consequences, after the columns are written."""
    if "customer_id" in changes:
        await assignments.link_customer(session, meter, customer, actor)
    if "sim_card_id" in changes:
        await assignments.link_sim(session, meter, sim, actor)
    now_decommissioned = meter.status is MeterStatus.DECOMMISSIONED
    if now_decommissioned and was is not MeterStatus.DECOMMISSIONED:
        await _decommission(session, meter, actor)
    elif was is MeterStatus.DECOMMISSIONED and not now_decommissioned:
        meter.decommissioned_at = None
    if meter.status is MeterStatus.INSTALLED and was is not MeterStatus.INSTALLED and meter.installed_at is None:
        meter.installed_at = utc_now()


async def _decommission(session: AsyncSession, meter: Meter, actor: str) -> None:
    """Take the meter out of service: release its SIM card and customer (history kept)."""
    await assignments.link_sim(session, meter, None, actor)
    await assignments.link_customer(session, meter, None, actor)
    meter.status = MeterStatus.DECOMMISSIONED
    meter.decommissioned_at = utc_now()


async def _finish(session: AsyncSession, meter_id: int) -> Meter:
    """Reload the meter with fresh links, then commit the unit of work."""
    meter = await meters.by_id(session, meter_id, refresh=True)
    assert meter is not None
    await session.commit()
    return meter


def _audit_details(changes: Mapping[str, object]) -> dict[str, object]:
    """The changes as JSON for the audit log; secrets appear only as "set" or "cleared"."""
    details: dict[str, object] = {}
    for name, value in changes.items():
        if name in _SECRET_COLUMNS:
            details[name] = "cleared" if value is None else "set"
        elif isinstance(value, date | datetime):
            details[name] = value.isoformat()
        else:
            details[name] = value
    return details


def _wire_name(name: str) -> str:
    head, *rest = name.removeprefix("dlms_").split("_")
    return head + "".join(part.title() for part in rest)
