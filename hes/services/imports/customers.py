"""Customer rows: customerName,accountNumber,address,phoneNumber,email,area,meterAssigned,customerType,tariffPlan,
connectionDate."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from hes import validation
from hes.db.enums import AssignmentKind, CustomerType, MeterStatus
from hes.db.store import imports as store
from hes.db.store.imports import NewAssignment, NewCustomer
from hes.db.tables import Customer
from hes.services.imports.entity import EntityImporter, drafted
from hes.services.imports.report import ImportEntity
from hes.services.imports.rows import Cells, ParsedRow, choice, max_length, spellings_of
from hes.services.imports.templates import TEMPLATES

_customer_type = choice(
    spellings_of(
        CustomerType,
        domestic=CustomerType.RESIDENTIAL,
        household=CustomerType.RESIDENTIAL,
        business=CustomerType.COMMERCIAL,
        govt=CustomerType.GOVERNMENT,
        public=CustomerType.GOVERNMENT,
    )
)
_NAME_LENGTH = max_length(Customer.customer_name)
_ADDRESS_LENGTH = max_length(Customer.address)
_PHONE_LENGTH = max_length(Customer.phone_number)
_EMAIL_LENGTH = max_length(Customer.email)
_TARIFF_LENGTH = max_length(Customer.tariff_plan)


@dataclass(frozen=True)
class CustomerDraft:
    """A customer read from a row, and the number of the meter it names, if any."""

    customer: NewCustomer
    meter_number: str | None


@dataclass(frozen=True)
class ReadyCustomer:
    """A checked customer and the id of the stored meter it takes."""

    customer: NewCustomer
    meter_id: int | None


class CustomerImporter(EntityImporter[CustomerDraft, ReadyCustomer]):
    """Adds customers, unique by account number; `meterAssigned` links a stored meter to the new customer."""

    template = TEMPLATES[ImportEntity.CUSTOMERS]
    audit_entity = "customer"
    unique_columns = {  # noqa: RUF012 (read-only table)
        "accountNumber": "the account number repeats row {row}",
        "meterAssigned": "the meter is already assigned to the customer in row {row}",
    }

    def read(self, cells: Cells) -> CustomerDraft | None:
        """A customer from its cells."""
        name = cells.text("customerName", _NAME_LENGTH, required=True)
        account = cells.check("accountNumber", validation.account_number, required=True)
        meter_number = cells.check("meterAssigned", validation.meter_number)
        cells.key("accountNumber", account)
        cells.key("meterAssigned", meter_number)
        customer = NewCustomer(
            account_number=account or "",
            customer_name=name or "",
            address=cells.text("address", _ADDRESS_LENGTH),
            phone_number=cells.check("phoneNumber", validation.phone_number, limit=_PHONE_LENGTH),
            email=cells.check("email", validation.email, limit=_EMAIL_LENGTH),
            area_id=self.context.areas.read(cells, "area"),
            customer_type=cells.check("customerType", _customer_type) or CustomerType.RESIDENTIAL,
            tariff_plan=cells.text("tariffPlan", _TARIFF_LENGTH),
            connection_date=cells.check("connectionDate", validation.calendar_date),
        )
        return CustomerDraft(customer, meter_number)

    async def check(self, session: AsyncSession, rows: Sequence[ParsedRow[CustomerDraft]]) -> list[ReadyCustomer]:
        """Refuse stored account numbers; the named meter must exist, be in service and have no customer."""
        candidates = drafted(rows)
        taken = await store.existing(
            session, Customer.account_number, {draft.customer.account_number for _, draft in candidates}
        )
        meters = await store.meters_by_number(
            session, {draft.meter_number for _, draft in candidates if draft.meter_number}
        )
        principal = self.context.principal
        ready: list[ReadyCustomer] = []
        for parsed, draft in candidates:
            if draft.customer.account_number in taken and not parsed.failed_on("accountNumber"):
                parsed.fail(
                    "accountNumber", "a customer with this account number already exists", draft.customer.account_number
                )
            meter_id = None
            if draft.meter_number and not parsed.failed_on("meterAssigned"):
                meter = meters.get(draft.meter_number)
                if meter is None or not principal.may_see_area(meter.area_id):
                    parsed.fail("meterAssigned", "no meter with this number", draft.meter_number)
                elif meter.status is MeterStatus.DECOMMISSIONED:
                    parsed.fail("meterAssigned", "the meter is decommissioned", draft.meter_number)
                elif meter.customer_account is not None:
                    reason = f"the meter already belongs to customer {meter.customer_account}"
                    parsed.fail("meterAssigned", reason, draft.meter_number)
                else:
                    meter_id = meter.id
            if parsed.ok:
                ready.append(ReadyCustomer(draft.customer, meter_id))
        return ready

    async def write(self, session: AsyncSession, ready: Sequence[ReadyCustomer]) -> None:
        """Insert the customers, then give each named meter to its customer with a history row.

        Same rules as hes.services.assignments.link_customer, in bulk: the meter's customer is set and one
        open `customer` assignment is written; the meter's status is left as it is.
        """
        at = self.context.at
        ids = await store.insert_customers(session, [item.customer for item in ready], at)
        links = [(item.meter_id, ids[item.customer.account_number]) for item in ready if item.meter_id is not None]
        await store.give_meters_to_customers(session, links, at)
        history = [
            NewAssignment(meter_id, AssignmentKind.CUSTOMER, customer_id=customer_id) for meter_id, customer_id in links
        ]
        await store.insert_assignments(session, history, self.context.principal.username, at)
