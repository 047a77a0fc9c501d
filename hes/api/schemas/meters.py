"""Wire schemas of meters, their DLMS settings, links and assignment history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field, StringConstraints, model_validator

from hes.api.schemas.common import CamelModel, InputModel, UpdateModel
from hes.api.schemas.fields import Identifier32, IpAddress, MeterNumber, Port, RecordId, Text40, Text60
from hes.db.enums import (
    AssignmentKind,
    ConnectionMode,
    CustomerStatus,
    DlmsAuthentication,
    DlmsTransport,
    MeterStatus,
    MeterType,
    RelayState,
    SimStatus,
)
from hes.db.tables import Meter
from hes.services.meters import MeterFields

# AES-128 keys (IEC 62056-5-3 security suite 0) as 32 hex digits.
AesKey = Annotated[str, StringConstraints(pattern=r"^[0-9A-Fa-f]{32}$")]
# The server system title: 8 octets (IEC 62056-5-3 4.3.4), 3 of them the manufacturer's FLAG id.
SystemTitle = Annotated[str, StringConstraints(pattern=r"^[0-9A-Fa-f]{16}$", to_upper=True)]
# How often a meter is expected to make contact: a minute (a chatty push meter) to a week (a daily-read meter
# that only calls in with its billing data). Null: the default of its connection mode.
ExpectedIntervalS = Annotated[int, Field(ge=60, le=7 * 24 * 3600)]
# LLS secrets are short octet strings; 64 characters covers every meter we know.
LlsPassword = Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=False)]
ClientAddress = Annotated[int, Field(ge=1, le=0xFFFF)]
ServerAddress = Annotated[int, Field(ge=0, le=0xFFFF)]
# The HDLC lower (physical) address has 14 bits (IEC 62056-46 6.4.2.2).
PhysicalAddress = Annotated[int, Field(ge=0, le=0x3FFF)]
# Suites 0 and 1 use AES-128 keys; suite 2 (AES-256, IEC 62056-5-3 9.2.3.6) would need 64-hex-digit keys
# and is not offered until the DLMS engine supports it.
SecuritySuite = Annotated[int, Field(ge=0, le=1)]
_DLMS_SECRETS = ("password", "authentication_key", "block_cipher_key")


class DlmsSettings(InputModel):
    """How HES Core associates with the meter; password and keys are write-only."""

    transport: DlmsTransport = DlmsTransport.WRAPPER
    client_address: ClientAddress = 16
    server_address: ServerAddress = 1
    physical_address: PhysicalAddress | None = None
    authentication: DlmsAuthentication = DlmsAuthentication.NONE
    security_suite: SecuritySuite = 0
    system_title: SystemTitle | None = None
    password: LlsPassword | None = Field(default=None, repr=False)
    authentication_key: AesKey | None = Field(default=None, repr=False)
    block_cipher_key: AesKey | None = Field(default=None, repr=False)


class DlmsUpdate(UpdateModel):
    """Changes to the DLMS settings; omitted fields stay, a null secret is removed."""

    required_fields = ("transport", "client_address", "server_address", "authentication", "security_suite")

    transport: DlmsTransport | None = None
    client_address: ClientAddress | None = None
    server_address: ServerAddress | None = None
    physical_address: PhysicalAddress | None = None
    authentication: DlmsAuthentication | None = None
    security_suite: SecuritySuite | None = None
    system_title: SystemTitle | None = None
    password: LlsPassword | None = Field(default=None, repr=False)
    authentication_key: AesKey | None = Field(default=None, repr=False)
    block_cipher_key: AesKey | None = Field(default=None, repr=False)


_EXPORT_ALLOWED = "A prosumer's meter (rooftop solar): its export raises no reverse-flow alert"


class _MeterInput(InputModel):
    concentrator_id: Identifier32 | None = None
    brand: Text40 | None = None
    model: Text60 | None = None
    firmware: Text60 | None = None
    ip_address: IpAddress | None = None
    port: Port | None = None
    area_id: RecordId | None = None
    customer_id: RecordId | None = None
    sim_card_id: RecordId | None = None
    installed_at: AwareDatetime | None = None
    expected_interval_s: ExpectedIntervalS | None = Field(
        default=None, description="Seconds between expected contacts (online/offline); null: its mode's default"
    )

    def _fields(self, names: set[str], dlms: InputModel | None, dlms_names: set[str]) -> MeterFields:
        values = {name: getattr(self, name) for name in names - {"dlms"}}
        if dlms is not None:
            values.update({f"dlms_{name}": getattr(dlms, name) for name in dlms_names})
        return MeterFields(**values)


class MeterCreate(_MeterInput):
    """A new meter; `customerId` and `simCardId` link it at once."""

    meter_number: MeterNumber
    meter_type: MeterType = MeterType.SINGLE_PHASE
    status: MeterStatus = MeterStatus.WAREHOUSE
    connection_mode: ConnectionMode = ConnectionMode.OUTBOUND
    export_allowed: bool = Field(default=False, description=_EXPORT_ALLOWED)
    dlms: DlmsSettings = Field(default_factory=DlmsSettings)

    def to_fields(self) -> MeterFields:
        """The service's view of this body."""
        return self._fields(set(type(self).model_fields), self.dlms, set(DlmsSettings.model_fields))


class MeterUpdate(_MeterInput, UpdateModel):
    """Changes to a meter; omitted fields stay, null clears (`customerId`/`simCardId` null releases)."""

    required_fields = ("meter_number", "meter_type", "status", "connection_mode", "export_allowed", "dlms")

    meter_number: MeterNumber | None = None
    meter_type: MeterType | None = None
    status: MeterStatus | None = None
    connection_mode: ConnectionMode | None = None
    export_allowed: bool | None = Field(default=None, description=_EXPORT_ALLOWED)
    dlms: DlmsUpdate | None = None

    def to_fields(self) -> tuple[MeterFields, frozenset[str]]:
        """The service's view of this body and the names of the fields it sets (DLMS ones with a dlms_ prefix)."""
        dlms_names = set(self.dlms.model_fields_set) if self.dlms is not None else set()
        provided = (self.model_fields_set - {"dlms"}) | {f"dlms_{name}" for name in dlms_names}
        return self._fields(set(self.model_fields_set), self.dlms, dlms_names), frozenset(provided)


class AreaSummary(CamelModel):
    """The area a record belongs to."""

    id: int
    code: str
    name: str


class CustomerSummary(CamelModel):
    """The customer a meter supplies."""

    id: int
    account_number: str
    customer_name: str
    status: CustomerStatus


class SimSummary(CamelModel):
    """The SIM card in a meter."""

    id: int
    sim_number: str
    msisdn: str | None
    status: SimStatus


class DlmsOut(CamelModel):
    """DLMS settings as shown: secrets only as whether they are set."""

    transport: DlmsTransport
    client_address: int
    server_address: int
    physical_address: int | None
    authentication: DlmsAuthentication
    security_suite: int
    system_title: str | None
    has_password: bool
    has_authentication_key: bool
    has_block_cipher_key: bool


class MeterOut(CamelModel):
    """A meter as the API shows it (validate it from a Meter loaded by the meter store)."""

    id: int
    meter_number: str
    concentrator_id: str | None
    meter_type: MeterType
    brand: str | None
    model: str | None
    firmware: str | None
    ip_address: str | None
    port: int | None
    area_id: int | None
    customer_id: int | None
    sim_card_id: int | None
    status: MeterStatus
    relay_state: RelayState
    last_seen_at: datetime | None
    last_success_at: datetime | None
    consecutive_failures: int
    last_round_trip_ms: int | None
    installed_at: datetime | None
    decommissioned_at: datetime | None
    connection_mode: ConnectionMode
    expected_interval_s: int | None
    export_allowed: bool
    dlms: DlmsOut
    area: AreaSummary | None
    customer: CustomerSummary | None
    sim_card: SimSummary | None
    created_at: datetime
    updated_at: datetime

    @model_validator(mode="before")
    @classmethod
    def _from_meter(cls, data: Any) -> Any:
        """Nest the flat dlms_* columns; the sealed secrets never leave the table row."""
        if not isinstance(data, Meter):
            return data
        plain = {name: getattr(data, name) for name in cls.model_fields if name != "dlms"}
        dlms = DlmsOut(
            transport=data.dlms_transport,
            client_address=data.dlms_client_address,
            server_address=data.dlms_server_address,
            physical_address=data.dlms_physical_address,
            authentication=data.dlms_authentication,
            security_suite=data.dlms_security_suite,
            system_title=data.dlms_system_title,
            has_password=data.dlms_password_enc is not None,
            has_authentication_key=data.dlms_authentication_key_enc is not None,
            has_block_cipher_key=data.dlms_block_cipher_key_enc is not None,
        )
        return {**plain, "dlms": dlms}


class MeterDecommissionedOut(CamelModel):
    """DELETE kept a meter with history: it is decommissioned, its SIM card and customer released."""

    outcome: Literal["decommissioned"]
    meter: MeterOut


class RemovalOut(CamelModel):
    """What DELETE did to a record: deleted, or (a customer with history) closed."""

    outcome: Literal["deleted", "closed"]


class AssignmentOut(CamelModel):
    """One link in the assignment history: a meter with a customer or a SIM card, from when to when."""

    id: int
    meter_id: int
    meter_number: str
    kind: AssignmentKind
    customer_id: int | None
    account_number: str | None
    sim_card_id: int | None
    sim_number: str | None
    assigned_at: datetime
    released_at: datetime | None
    assigned_by: str | None
    released_by: str | None
