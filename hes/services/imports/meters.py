"""Meter rows: meterNumber,concentratorId,meterType,brand,model,firmware,ipAddress,port,area,customer,simCard."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy.ext.asyncio import AsyncSession

from hes import validation
from hes.db.enums import AssignmentKind, CustomerStatus, MeterStatus, MeterType
from hes.db.store import imports as store
from hes.db.store.imports import NewAssignment, NewMeter
from hes.db.tables import Meter
from hes.services.imports.entity import EntityImporter, drafted
from hes.services.imports.report import ImportEntity
from hes.services.imports.rows import Cells, ParsedRow, choice, identifier, max_length, spellings_of
from hes.services.imports.templates import TEMPLATES

# What installers and stock lists write for the connection type.
_meter_type = choice(
    spellings_of(
        MeterType,
        single=MeterType.SINGLE_PHASE,
        _1p=MeterType.SINGLE_PHASE,
        _1ph=MeterType.SINGLE_PHASE,
        _1phase=MeterType.SINGLE_PHASE,
        three=MeterType.THREE_PHASE,
        _3p=MeterType.THREE_PHASE,
        _3ph=MeterType.THREE_PHASE,
        _3phase=MeterType.THREE_PHASE,
        polyphase=MeterType.THREE_PHASE,
        ct_connected=MeterType.CT,
        ct_operated=MeterType.CT,
        ct_pt=MeterType.CT_VT,
    )
)
_concentrator_id = identifier("a concentrator id")
_sim_number = identifier("a SIM number")
_BRAND_LENGTH = max_length(Meter.brand)
_MODEL_LENGTH = max_length(Meter.model)
_FIRMWARE_LENGTH = max_length(Meter.firmware)


@dataclass(frozen=True)
class MeterDraft:
    """A meter read from a row; customer and SIM card still by their natural keys."""

    meter: NewMeter
    account_number: str | None
    sim_number: str | None


class MeterImporter(EntityImporter[MeterDraft, NewMeter]):
    """Adds meters, unique by meter number, linked to a stored customer (account number) and SIM card."""

    template = TEMPLATES[ImportEntity.METERS]
    audit_entity = "meter"
    unique_columns = {  # noqa: RUF012 (read-only table)
        "meterNumber": "the meter number repeats row {row}",
        "simCard": "the SIM card is already given to the meter in row {row}",
    }

    def read(self, cells: Cells) -> MeterDraft | None:
        """A meter from its cells."""
        number = cells.check("meterNumber", validation.meter_number, required=True)
        sim_number = cells.check("simCard", _sim_number)
        cells.key("meterNumber", number)
        cells.key("simCard", sim_number)
        meter = NewMeter(
            meter_number=number or "",
            concentrator_id=cells.check("concentratorId", _concentrator_id),
            meter_type=cells.check("meterType", _meter_type) or MeterType.SINGLE_PHASE,
            brand=cells.text("brand", _BRAND_LENGTH),
            model=cells.text("model", _MODEL_LENGTH),
            firmware=cells.text("firmware", _FIRMWARE_LENGTH),
            ip_address=cells.check("ipAddress", validation.ip_address),
            port=cells.check("port", validation.port),
            area_id=self.context.areas.read(cells, "area"),
            customer_id=None,
            sim_card_id=None,
            status=MeterStatus.WAREHOUSE,
            installed_at=None,
        )
        return MeterDraft(meter, cells.check("customer", validation.account_number), sim_number)

    async def check(self, session: AsyncSession, rows: Sequence[ParsedRow[MeterDraft]]) -> list[NewMeter]:
        """Refuse stored meter numbers; the customer must exist and be open, the SIM card exist and be free."""
        candidates = drafted(rows)
        taken = await store.existing(session, Meter.meter_number, {draft.meter.meter_number for _, draft in candidates})
        customers = await store.customers_by_account(
            session, {draft.account_number for _, draft in candidates if draft.account_number}
        )
        sims = await store.sims_by_number(session, {draft.sim_number for _, draft in candidates if draft.sim_number})
        principal = self.context.principal
        ready: list[NewMeter] = []
        for parsed, draft in candidates:
            meter = draft.meter
            if meter.meter_number in taken and not parsed.failed_on("meterNumber"):
                parsed.fail("meterNumber", "a meter with this number already exists", meter.meter_number)
            customer_id = sim_card_id = None
            if draft.account_number:
                customer = customers.get(draft.account_number)
                if customer is None or not principal.may_see_area(customer.area_id):
                    parsed.fail("customer", "no customer with this account number", draft.account_number)
                elif customer.status is CustomerStatus.CLOSED:
                    parsed.fail("customer", "the customer's account is closed", draft.account_number)
                else:
                    customer_id = customer.id
            if draft.sim_number and not parsed.failed_on("simCard"):
                sim = sims.get(draft.sim_number)
                if sim is None:
                    parsed.fail("simCard", "no SIM card with this number", draft.sim_number)
                elif sim.meter_number is not None:
                    parsed.fail("simCard", f"the SIM card is already on meter {sim.meter_number}", draft.sim_number)
                else:
                    sim_card_id = sim.id
            if parsed.ok:
                ready.append(self._placed(meter, customer_id, sim_card_id))
        return ready

    def _placed(self, meter: NewMeter, customer_id: int | None, sim_card_id: int | None) -> NewMeter:
        """The meter with its links; one that supplies a customer or has an address is in the field, not in stock."""
        installed = customer_id is not None or meter.ip_address is not None
        return replace(
            meter,
            customer_id=customer_id,
            sim_card_id=sim_card_id,
            status=MeterStatus.INSTALLED if installed else MeterStatus.WAREHOUSE,
            installed_at=self.context.at if installed else None,
        )

    async def write(self, session: AsyncSession, ready: Sequence[NewMeter]) -> None:
        """Insert the meters with their links, the history rows of those links, and activate linked SIM cards.

        Same rules as hes.services.assignments.link_customer / link_sim, in bulk: one open assignment row per
        link (kind customer or sim, assigned by the importing user), and a linked SIM card that was available
        becomes active (suspended and inactive ones keep their status).
        """
        at = self.context.at
        ids = await store.insert_meters(session, ready, at)
        history: list[NewAssignment] = []
        for meter in ready:
            meter_id = ids[meter.meter_number]
            if meter.customer_id is not None:
                history.append(NewAssignment(meter_id, AssignmentKind.CUSTOMER, customer_id=meter.customer_id))
            if meter.sim_card_id is not None:
                history.append(NewAssignment(meter_id, AssignmentKind.SIM, sim_card_id=meter.sim_card_id))
        await store.insert_assignments(session, history, self.context.principal.username, at)
        await store.activate_sim_cards(session, [m.sim_card_id for m in ready if m.sim_card_id is not None], at)
