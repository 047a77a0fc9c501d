"""Wire schemas of customers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

from hes import validation
from hes.api.schemas.common import CamelModel, InputModel, UpdateModel
from hes.api.schemas.fields import NoMarkup, RecordId, Text60
from hes.db.enums import CustomerStatus, CustomerType
from hes.services.customers import CustomerFields

AccountNumber = Annotated[
    str, StringConstraints(min_length=1, max_length=32), AfterValidator(validation.account_number)
]
CustomerName = Annotated[str, StringConstraints(min_length=1, max_length=160), NoMarkup]
Address = Annotated[str, StringConstraints(min_length=1, max_length=300), NoMarkup]
PhoneNumber = Annotated[str, StringConstraints(min_length=1, max_length=20), AfterValidator(validation.phone_number)]
Email = Annotated[str, StringConstraints(min_length=1, max_length=254), AfterValidator(validation.email)]


class _CustomerInput(InputModel):
    address: Address | None = None
    phone_number: PhoneNumber | None = None
    email: Email | None = None
    area_id: RecordId | None = None
    tariff_plan: Text60 | None = None
    connection_date: date | None = None


class CustomerCreate(_CustomerInput):
    """A new customer account."""

    customer_name: CustomerName
    account_number: AccountNumber
    customer_type: CustomerType = CustomerType.RESIDENTIAL
    status: CustomerStatus = CustomerStatus.ACTIVE

    def to_fields(self) -> CustomerFields:
        """The service's view of this body."""
        return CustomerFields(**self.model_dump())


class CustomerUpdate(_CustomerInput, UpdateModel):
    """Changes to a customer; omitted fields stay as they are, null clears an optional one."""

    required_fields = ("customer_name", "account_number", "customer_type", "status")

    customer_name: CustomerName | None = None
    account_number: AccountNumber | None = None
    customer_type: CustomerType | None = None
    status: CustomerStatus | None = None

    def to_fields(self) -> tuple[CustomerFields, frozenset[str]]:
        """The service's view of this body and the names of the fields it sets."""
        return CustomerFields(**self.model_dump()), frozenset(self.model_fields_set)


class CustomerOut(CamelModel):
    """A customer as the API shows it."""

    id: int
    customer_name: str
    account_number: str
    address: str | None
    phone_number: str | None
    email: str | None
    area_id: int | None
    customer_type: CustomerType
    tariff_plan: str | None
    connection_date: date | None
    status: CustomerStatus
    created_at: datetime
    updated_at: datetime
