"""Wire schemas of SIM cards."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from hes import validation
from hes.api.schemas.common import CamelModel, InputModel, UpdateModel
from hes.api.schemas.fields import Identifier32, IpAddress, Text60
from hes.db.enums import SimStatus
from hes.services.sims import SimFields, SimView

Iccid = Annotated[str, StringConstraints(min_length=1, max_length=22), AfterValidator(validation.iccid)]
Imsi = Annotated[str, StringConstraints(min_length=1, max_length=15), AfterValidator(validation.imsi)]
Msisdn = Annotated[str, StringConstraints(min_length=1, max_length=20), AfterValidator(validation.msisdn)]
Apn = Annotated[str, StringConstraints(min_length=1, max_length=100), AfterValidator(validation.apn)]
DataLimit = Annotated[int, Field(ge=0, le=validation.MAX_DATA_LIMIT_MB)]


class _SimInput(InputModel):
    imsi: Imsi | None = None
    msisdn: Msisdn | None = None
    provider: Text60 | None = None
    ip_address: IpAddress | None = None
    apn: Apn | None = None
    data_limit_mb: DataLimit | None = None
    activation_date: date | None = None


class SimCreate(_SimInput):
    """A new SIM card in the stock."""

    sim_number: Identifier32
    iccid: Iccid
    status: SimStatus = SimStatus.AVAILABLE

    def to_fields(self) -> SimFields:
        """The service's view of this body."""
        return SimFields(**self.model_dump())


class SimUpdate(_SimInput, UpdateModel):
    """Changes to a SIM card; omitted fields stay as they are, null clears an optional one."""

    required_fields = ("sim_number", "iccid", "status")

    sim_number: Identifier32 | None = None
    iccid: Iccid | None = None
    status: SimStatus | None = None

    def to_fields(self) -> tuple[SimFields, frozenset[str]]:
        """The service's view of this body and the names of the fields it sets."""
        return SimFields(**self.model_dump()), frozenset(self.model_fields_set)


class MeterRef(CamelModel):
    """The meter a SIM card is in."""

    id: int
    meter_number: str


class SimOut(CamelModel):
    """A SIM card as the API shows it, with the meter it is in (null: in stock)."""

    id: int
    sim_number: str
    iccid: str
    imsi: str | None
    msisdn: str | None
    provider: str | None
    status: SimStatus
    ip_address: str | None
    apn: str | None
    data_limit_mb: int | None
    activation_date: date | None
    meter: MeterRef | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, view: SimView) -> SimOut:
        """The wire form of a SIM card and its meter."""
        sim = view.sim
        plain = {name: getattr(sim, name) for name in cls.model_fields if name != "meter"}
        meter = MeterRef(id=view.meter.id, meter_number=view.meter.meter_number) if view.meter else None
        return cls.model_validate({**plain, "meter": meter})
