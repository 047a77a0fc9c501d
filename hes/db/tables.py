"""The tables of HES Core (SQLAlchemy 2 declarative); schemas for the wire live in `hes.api.schemas`."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy import (
    Enum as SAEnum,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from hes.db.enums import (
    AlertStatus,
    AssignmentKind,
    CommandStatus,
    ConnectionMode,
    CustomerStatus,
    CustomerType,
    DlmsAuthentication,
    DlmsTransport,
    EventCategory,
    MeterStatus,
    MeterType,
    RelayState,
    Role,
    Severity,
    SimStatus,
)
from hes.db.types import UTCDateTime

# Stable constraint names, so Alembic migrations are identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT ids on PostgreSQL, but SQLite only auto-increments an INTEGER primary key.
BigId = BigInteger().with_variant(Integer(), "sqlite")
SmallId = SmallInteger().with_variant(Integer(), "sqlite")


def utc_now() -> datetime:
    """Now, in UTC with its offset."""
    return datetime.now(UTC)


def _enum(enum_type: type[Enum], length: int = 24) -> SAEnum:
    """A string column holding an enum's values (not names), portable across backends."""
    return SAEnum(
        enum_type,
        native_enum=False,
        length=length,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    """Declarative base with the naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class _Timestamps:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, onupdate=utc_now)


class Area(_Timestamps, Base):
    """A network area (region, business unit, feeder, ...), optionally inside a parent area."""

    __tablename__ = "areas"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id", ondelete="RESTRICT"))
    description: Mapped[str | None] = mapped_column(String(500))


class User(_Timestamps, Base):
    """A person (or integration) who signs in to HES Core."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(_enum(Role))
    full_name: Mapped[str | None] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(254))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped on password change or deactivation: refresh tokens carrying an older version stop working.
    token_version: Mapped[int] = mapped_column(Integer, default=0)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UserArea(Base):
    """Areas a user is limited to; a user with none sees every area."""

    __tablename__ = "user_areas"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id", ondelete="CASCADE"), primary_key=True)


class Customer(_Timestamps, Base):
    """A utility customer (account) that meters supply."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_number: Mapped[str] = mapped_column(String(32), unique=True)
    customer_name: Mapped[str] = mapped_column(String(160), index=True)
    address: Mapped[str | None] = mapped_column(String(300))
    phone_number: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id", ondelete="RESTRICT"), index=True)
    customer_type: Mapped[CustomerType] = mapped_column(_enum(CustomerType), default=CustomerType.RESIDENTIAL)
    tariff_plan: Mapped[str | None] = mapped_column(String(60))
    connection_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[CustomerStatus] = mapped_column(_enum(CustomerStatus), default=CustomerStatus.ACTIVE)


class SimCard(_Timestamps, Base):
    """A cellular SIM card that gives a meter its link."""

    __tablename__ = "sim_cards"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sim_number: Mapped[str] = mapped_column(String(32), unique=True)
    iccid: Mapped[str] = mapped_column(String(22), unique=True)
    imsi: Mapped[str | None] = mapped_column(String(15), unique=True)
    msisdn: Mapped[str | None] = mapped_column(String(16), index=True)
    provider: Mapped[str | None] = mapped_column(String(60))
    status: Mapped[SimStatus] = mapped_column(_enum(SimStatus), default=SimStatus.AVAILABLE)
    ip_address: Mapped[str | None] = mapped_column(String(45))
    apn: Mapped[str | None] = mapped_column(String(100))
    data_limit_mb: Mapped[int | None] = mapped_column(Integer)
    activation_date: Mapped[date | None] = mapped_column(Date)


class Meter(_Timestamps, Base):
    """An electricity meter, its links and how HES Core talks to it."""

    __tablename__ = "meters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meter_number: Mapped[str] = mapped_column(String(32), unique=True)
    concentrator_id: Mapped[str | None] = mapped_column(String(32), index=True)
    meter_type: Mapped[MeterType] = mapped_column(_enum(MeterType), default=MeterType.SINGLE_PHASE)
    brand: Mapped[str | None] = mapped_column(String(40), index=True)
    model: Mapped[str | None] = mapped_column(String(60))
    firmware: Mapped[str | None] = mapped_column(String(60))
    ip_address: Mapped[str | None] = mapped_column(String(45))
    port: Mapped[int | None] = mapped_column(Integer)
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id", ondelete="RESTRICT"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"), index=True)
    # unique: one SIM serves at most one meter at a time.
    sim_card_id: Mapped[int | None] = mapped_column(ForeignKey("sim_cards.id", ondelete="RESTRICT"), unique=True)
    status: Mapped[MeterStatus] = mapped_column(_enum(MeterStatus), default=MeterStatus.WAREHOUSE, index=True)
    relay_state: Mapped[RelayState] = mapped_column(_enum(RelayState), default=RelayState.UNKNOWN)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    installed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decommissioned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    connection_mode: Mapped[ConnectionMode] = mapped_column(_enum(ConnectionMode), default=ConnectionMode.OUTBOUND)
    dlms_transport: Mapped[DlmsTransport] = mapped_column(_enum(DlmsTransport), default=DlmsTransport.WRAPPER)
    dlms_client_address: Mapped[int] = mapped_column(Integer, default=16)
    dlms_server_address: Mapped[int] = mapped_column(Integer, default=1)
    dlms_physical_address: Mapped[int | None] = mapped_column(Integer)
    dlms_authentication: Mapped[DlmsAuthentication] = mapped_column(
        _enum(DlmsAuthentication), default=DlmsAuthentication.NONE
    )
    dlms_security_suite: Mapped[int] = mapped_column(SmallInteger, default=0)
    dlms_system_title: Mapped[str | None] = mapped_column(String(16), index=True)  # finds the sender of a push
    # Secrets, Fernet-encrypted with HES_DATA_KEY; never returned by the API nor logged.
    dlms_password_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    dlms_authentication_key_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    dlms_block_cipher_key_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    dlms_invocation_counter: Mapped[int] = mapped_column(BigInteger, default=0)
    # The invocation counter of the last ciphered push accepted from the meter: a push not above it is a replay,
    # whichever instance it reaches and however long after. Reset with the block cipher key.
    dlms_push_counter: Mapped[int | None] = mapped_column(BigInteger)
    # Communication health, kept on the meter row so the console and the status check read one row.
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_round_trip_ms: Mapped[int | None] = mapped_column(Integer)
    # Seconds between expected contacts; NULL: the default for the meter's connection mode (settings).
    expected_interval_s: Mapped[int | None] = mapped_column(Integer)
    # A prosumer's meter (rooftop solar, say): exporting energy is its job, not reverse flow.
    export_allowed: Mapped[bool] = mapped_column(Boolean, default=False)

    # lazy="raise": an async session cannot load on attribute access; the meter store loads these explicitly.
    area: Mapped[Area | None] = relationship(lazy="raise")
    customer: Mapped[Customer | None] = relationship(lazy="raise")
    sim_card: Mapped[SimCard | None] = relationship(lazy="raise")


class MeterAssignment(Base):
    """History of a meter's links to customers and SIM cards; a row is closed, never deleted."""

    __tablename__ = "meter_assignments"
    __table_args__ = (Index("ix_meter_assignments_meter_kind", "meter_id", "kind"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    meter_id: Mapped[int] = mapped_column(ForeignKey("meters.id", ondelete="RESTRICT"))
    kind: Mapped[AssignmentKind] = mapped_column(_enum(AssignmentKind))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"), index=True)
    sim_card_id: Mapped[int | None] = mapped_column(ForeignKey("sim_cards.id", ondelete="RESTRICT"), index=True)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    assigned_by: Mapped[str | None] = mapped_column(String(64))
    released_by: Mapped[str | None] = mapped_column(String(64))


class ObisCode(Base):
    """Lookup of OBIS codes, so each reading stores a 2-byte id instead of text."""

    __tablename__ = "obis_codes"

    id: Mapped[int] = mapped_column(SmallId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)  # "A-B:C.D.E.F"
    name: Mapped[str | None] = mapped_column(String(120))
    unit: Mapped[str | None] = mapped_column(String(16))


class Reading(Base):
    """One measured value. Narrow on purpose: hundreds of millions of rows (partitioned by month on PostgreSQL)."""

    __tablename__ = "readings"
    __table_args__ = {"sqlite_with_rowid": False}  # noqa: RUF012

    # No foreign keys: they would cost a lookup per row on the ingest path; meters are never deleted
    # while they have readings (they are decommissioned instead).
    meter_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    obis_id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    # Quality and source packed into one smallint (hes.db.store.reading_flags), placed here so that the
    # row's data is 24 bytes with no alignment padding before the 8-byte timestamp.
    flags: Mapped[int] = mapped_column(SmallInteger, default=0)
    ts: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    value: Mapped[float] = mapped_column(Double)


class LatestReading(Base):
    """Each meter's newest value per OBIS code: the console's "now" without scanning the readings."""

    __tablename__ = "latest_readings"

    meter_id: Mapped[int] = mapped_column(ForeignKey("meters.id", ondelete="CASCADE"), primary_key=True)
    obis_id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime)
    value: Mapped[float] = mapped_column(Double)


class ReadAttempts(Base):
    """Per meter and UTC day: how many collections were tried and how many succeeded (read-success rates)."""

    __tablename__ = "read_attempts"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    meter_id: Mapped[int] = mapped_column(ForeignKey("meters.id", ondelete="CASCADE"), primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    successes: Mapped[int] = mapped_column(Integer, default=0)


class DeviceToken(Base):
    """A bearer token a meter (or a gateway for its concentrator's meters) sends data with; only its hash is kept."""

    __tablename__ = "device_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    meter_id: Mapped[int | None] = mapped_column(ForeignKey("meters.id", ondelete="CASCADE"), index=True)
    concentrator_id: Mapped[str | None] = mapped_column(String(32), index=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Event(Base):
    """Something that happened at or about a meter (tamper, power failure, communication loss, ...)."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_meter_occurred", "meter_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    meter_id: Mapped[int | None] = mapped_column(ForeignKey("meters.id", ondelete="RESTRICT"))
    event_type: Mapped[str] = mapped_column(String(60))
    code: Mapped[int | None] = mapped_column(Integer)
    severity: Mapped[Severity] = mapped_column(_enum(Severity), default=Severity.INFO)
    category: Mapped[EventCategory] = mapped_column(_enum(EventCategory))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Alert(Base):
    """Something an operator must look at; one open alert per meter and type, repeats counted."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_meter_type_status", "meter_id", "alert_type", "status"),
        # At most one unresolved alert per meter and type: a repeat counts up `occurrences` instead.
        Index(
            "uq_alerts_unresolved_meter_type",
            "meter_id",
            "alert_type",
            unique=True,
            sqlite_where=text("status != 'resolved'"),
            postgresql_where=text("status != 'resolved'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    meter_id: Mapped[int | None] = mapped_column(ForeignKey("meters.id", ondelete="RESTRICT"))
    alert_type: Mapped[str] = mapped_column(String(60))
    severity: Mapped[Severity] = mapped_column(_enum(Severity))
    status: Mapped[AlertStatus] = mapped_column(_enum(AlertStatus), default=AlertStatus.OPEN)
    message: Mapped[str] = mapped_column(String(500))
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_note: Mapped[str | None] = mapped_column(Text)


class Command(Base):
    """A remote operation on a meter, from request to outcome; survives restarts."""

    __tablename__ = "commands"
    __table_args__ = (Index("ix_commands_meter_status", "meter_id", "status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    meter_id: Mapped[int] = mapped_column(ForeignKey("meters.id", ondelete="RESTRICT"))
    command_type: Mapped[str] = mapped_column(String(40))
    parameters: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[CommandStatus] = mapped_column(_enum(CommandStatus), default=CommandStatus.QUEUED)
    priority: Mapped[int] = mapped_column(SmallInteger, default=5)
    requested_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(String(500))


class JobSlot(Base):
    """The last slot of each periodic job that an instance claimed: a slot is claimed, so run, once."""

    __tablename__ = "job_slots"

    job: Mapped[str] = mapped_column(String(60), primary_key=True)
    last_slot: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """Who changed what, when: one row per change made through HES Core."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(40))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)


__all__ = [
    "Alert",
    "Area",
    "AuditEntry",
    "Base",
    "Command",
    "Customer",
    "Event",
    "Meter",
    "MeterAssignment",
    "ObisCode",
    "Reading",
    "SimCard",
    "User",
    "UserArea",
]


class ConsumptionHour(Base):
    """A meter's energy register over one hour, readings in (hour, hour + 1 h]: its advance since the reading before.

    Rebuilt from the readings, never summed into: the same readings always give the same row, so repeated or
    late batches cannot count twice. `delta` is in the register's unit (obis_codes.unit).
    """

    __tablename__ = "consumption_hourly"
    __table_args__ = (Index("ix_consumption_hourly_hour", "hour"),)

    # No foreign keys, as for readings: meters with data are decommissioned, never deleted.
    meter_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    obis_id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    first_value: Mapped[float] = mapped_column(Double)
    last_value: Mapped[float] = mapped_column(Double)
    delta: Mapped[float] = mapped_column(Double)
    samples: Mapped[int] = mapped_column(Integer)
    resets: Mapped[int] = mapped_column(SmallInteger)
    rollovers: Mapped[int] = mapped_column(SmallInteger)
    complete: Mapped[bool] = mapped_column(Boolean)


class ConsumptionDay(Base):
    """A meter's energy register over one UTC day: the sum of its hours, so months and areas read few rows."""

    __tablename__ = "consumption_daily"
    __table_args__ = (Index("ix_consumption_daily_day", "day"),)

    meter_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    obis_id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    delta: Mapped[float] = mapped_column(Double)
    hours: Mapped[int] = mapped_column(SmallInteger)
    resets: Mapped[int] = mapped_column(SmallInteger)
    rollovers: Mapped[int] = mapped_column(SmallInteger)
    complete: Mapped[bool] = mapped_column(Boolean)
