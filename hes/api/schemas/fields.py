"""Field types shared by the resource schemas: identifiers, addresses, inert text."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from hes import validation

NoMarkup = AfterValidator(validation.plain_text)
MeterNumber = Annotated[str, StringConstraints(min_length=1, max_length=32), AfterValidator(validation.meter_number)]
IpAddress = Annotated[str, StringConstraints(min_length=1, max_length=45), AfterValidator(validation.ip_address)]
Identifier32 = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9\-_/.]*$")]
Text40 = Annotated[str, StringConstraints(min_length=1, max_length=40), NoMarkup]
Text60 = Annotated[str, StringConstraints(min_length=1, max_length=60), NoMarkup]
Port = Annotated[int, AfterValidator(validation.port)]
# Record ids are 32-bit in the database; a larger number names no record and must not reach a query.
MAX_RECORD_ID = 2**31 - 1
RecordId = Annotated[int, Field(ge=1, le=MAX_RECORD_ID)]
