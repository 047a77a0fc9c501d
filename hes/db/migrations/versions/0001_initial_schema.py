"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-27

Readings are partitioned by month on PostgreSQL (declarative RANGE partitioning on `ts`), with a
DEFAULT partition catching anything outside the monthly partitions that `hes.db.store.partitions`
creates ahead of time. On SQLite they are one WITHOUT ROWID table keyed like the partitions.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "areas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["areas.id"], name=op.f("fk_areas_parent_id_areas"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_areas")),
        sa.UniqueConstraint("code", name=op.f("uq_areas_code")),
    )
    with op.batch_alter_table("areas", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_areas_name"), ["name"], unique=False)

    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("entity", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_actor"), ["actor"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)

    op.create_table(
        "obis_codes",
        sa.Column("id", sa.SmallInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=True),
        sa.Column("unit", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_obis_codes")),
        sa.UniqueConstraint("code", name=op.f("uq_obis_codes_code")),
    )
    _create_readings()
    op.create_table(
        "sim_cards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sim_number", sa.String(length=32), nullable=False),
        sa.Column("iccid", sa.String(length=22), nullable=False),
        sa.Column("imsi", sa.String(length=15), nullable=True),
        sa.Column("msisdn", sa.String(length=16), nullable=True),
        sa.Column("provider", sa.String(length=60), nullable=True),
        sa.Column(
            "status",
            sa.Enum("active", "inactive", "suspended", "available", name="simstatus", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("ip_address", sa.String(length=45), nullable=True),
        sa.Column("apn", sa.String(length=100), nullable=True),
        sa.Column("data_limit_mb", sa.Integer(), nullable=True),
        sa.Column("activation_date", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sim_cards")),
        sa.UniqueConstraint("iccid", name=op.f("uq_sim_cards_iccid")),
        sa.UniqueConstraint("imsi", name=op.f("uq_sim_cards_imsi")),
        sa.UniqueConstraint("sim_number", name=op.f("uq_sim_cards_sim_number")),
    )
    with op.batch_alter_table("sim_cards", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sim_cards_msisdn"), ["msisdn"], unique=False)

    op.create_table(
        "customers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_number", sa.String(length=32), nullable=False),
        sa.Column("customer_name", sa.String(length=160), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("phone_number", sa.String(length=20), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("area_id", sa.Integer(), nullable=True),
        sa.Column(
            "customer_type",
            sa.Enum(
                "residential",
                "commercial",
                "industrial",
                "government",
                name="customertype",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("tariff_plan", sa.String(length=60), nullable=True),
        sa.Column("connection_date", sa.Date(), nullable=True),
        sa.Column(
            "status",
            sa.Enum("active", "closed", name="customerstatus", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_id"], ["areas.id"], name=op.f("fk_customers_area_id_areas"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("account_number", name=op.f("uq_customers_account_number")),
    )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customers_area_id"), ["area_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_customers_customer_name"), ["customer_name"], unique=False)

    op.create_table(
        "meters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meter_number", sa.String(length=32), nullable=False),
        sa.Column("concentrator_id", sa.String(length=32), nullable=True),
        sa.Column(
            "meter_type",
            sa.Enum("single-phase", "three-phase", "ct", "ct-vt", name="metertype", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("brand", sa.String(length=40), nullable=True),
        sa.Column("model", sa.String(length=60), nullable=True),
        sa.Column("firmware", sa.String(length=60), nullable=True),
        sa.Column("ip_address", sa.String(length=45), nullable=True),
        sa.Column("port", sa.Integer(), nullable=True),
        sa.Column("area_id", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("sim_card_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "warehouse",
                "installed",
                "online",
                "offline",
                "faulty",
                "decommissioned",
                name="meterstatus",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column(
            "relay_state",
            sa.Enum(
                "connected",
                "disconnected",
                "ready_for_reconnection",
                "unknown",
                name="relaystate",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("installed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decommissioned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "connection_mode",
            sa.Enum(
                "outbound",
                "dial-in",
                "push",
                "mqtt",
                "http",
                name="connectionmode",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column(
            "dlms_transport",
            sa.Enum("wrapper", "hdlc", name="dlmstransport", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("dlms_client_address", sa.Integer(), nullable=False),
        sa.Column("dlms_server_address", sa.Integer(), nullable=False),
        sa.Column("dlms_physical_address", sa.Integer(), nullable=True),
        sa.Column(
            "dlms_authentication",
            sa.Enum("none", "lls", "hls-gmac", name="dlmsauthentication", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("dlms_security_suite", sa.SmallInteger(), nullable=False),
        sa.Column("dlms_system_title", sa.String(length=16), nullable=True),
        sa.Column("dlms_password_enc", sa.LargeBinary(), nullable=True),
        sa.Column("dlms_authentication_key_enc", sa.LargeBinary(), nullable=True),
        sa.Column("dlms_block_cipher_key_enc", sa.LargeBinary(), nullable=True),
        sa.Column("dlms_invocation_counter", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["area_id"], ["areas.id"], name=op.f("fk_meters_area_id_areas"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_meters_customer_id_customers"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["sim_card_id"],
            ["sim_cards.id"],
            name=op.f("fk_meters_sim_card_id_sim_cards"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meters")),
        sa.UniqueConstraint("meter_number", name=op.f("uq_meters_meter_number")),
        sa.UniqueConstraint("sim_card_id", name=op.f("uq_meters_sim_card_id")),
    )
    with op.batch_alter_table("meters", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meters_area_id"), ["area_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_meters_brand"), ["brand"], unique=False)
        batch_op.create_index(batch_op.f("ix_meters_concentrator_id"), ["concentrator_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_meters_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_meters_status"), ["status"], unique=False)

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column(
            "role",
            sa.Enum("admin", "operator", "viewer", "customer", name="role", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("full_name", sa.String(length=120), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("token_version", sa.Integer(), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_users_customer_id_customers"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("meter_id", sa.Integer(), nullable=True),
        sa.Column("alert_type", sa.String(length=60), nullable=False),
        sa.Column(
            "severity",
            sa.Enum("info", "warning", "error", "critical", name="severity", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum("open", "acknowledged", "resolved", name="alertstatus", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_by", sa.String(length=64), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=64), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["meter_id"], ["meters.id"], name=op.f("fk_alerts_meter_id_meters"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index("ix_alerts_meter_type_status", ["meter_id", "alert_type", "status"], unique=False)

    op.create_table(
        "commands",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("meter_id", sa.Integer(), nullable=False),
        sa.Column("command_type", sa.String(length=40), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "queued",
                "running",
                "succeeded",
                "failed",
                "timed_out",
                "cancelled",
                name="commandstatus",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("priority", sa.SmallInteger(), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.SmallInteger(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["meter_id"], ["meters.id"], name=op.f("fk_commands_meter_id_meters"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commands")),
    )
    with op.batch_alter_table("commands", schema=None) as batch_op:
        batch_op.create_index("ix_commands_meter_status", ["meter_id", "status"], unique=False)

    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("meter_id", sa.Integer(), nullable=True),
        sa.Column("event_type", sa.String(length=60), nullable=False),
        sa.Column("code", sa.Integer(), nullable=True),
        sa.Column(
            "severity",
            sa.Enum("info", "warning", "error", "critical", name="severity", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column(
            "category",
            sa.Enum(
                "communication",
                "tamper",
                "power",
                "billing",
                "technical",
                name="eventcategory",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["meter_id"], ["meters.id"], name=op.f("fk_events_meter_id_meters"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_meter_occurred", ["meter_id", "occurred_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_events_occurred_at"), ["occurred_at"], unique=False)

    op.create_table(
        "meter_assignments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("meter_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("customer", "sim", name="assignmentkind", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("sim_card_id", sa.Integer(), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("assigned_by", sa.String(length=64), nullable=True),
        sa.Column("released_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_meter_assignments_customer_id_customers"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["meter_id"],
            ["meters.id"],
            name=op.f("fk_meter_assignments_meter_id_meters"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["sim_card_id"],
            ["sim_cards.id"],
            name=op.f("fk_meter_assignments_sim_card_id_sim_cards"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meter_assignments")),
    )
    with op.batch_alter_table("meter_assignments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meter_assignments_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index("ix_meter_assignments_meter_kind", ["meter_id", "kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_meter_assignments_sim_card_id"), ["sim_card_id"], unique=False)

    op.create_table(
        "user_areas",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_id"], ["areas.id"], name=op.f("fk_user_areas_area_id_areas"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_areas_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "area_id", name=op.f("pk_user_areas")),
    )


def downgrade() -> None:
    op.drop_table("user_areas")
    with op.batch_alter_table("meter_assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meter_assignments_sim_card_id"))
        batch_op.drop_index("ix_meter_assignments_meter_kind")
        batch_op.drop_index(batch_op.f("ix_meter_assignments_customer_id"))

    op.drop_table("meter_assignments")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_occurred_at"))
        batch_op.drop_index("ix_events_meter_occurred")

    op.drop_table("events")
    with op.batch_alter_table("commands", schema=None) as batch_op:
        batch_op.drop_index("ix_commands_meter_status")

    op.drop_table("commands")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_meter_type_status")

    op.drop_table("alerts")
    op.drop_table("users")
    with op.batch_alter_table("meters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meters_status"))
        batch_op.drop_index(batch_op.f("ix_meters_customer_id"))
        batch_op.drop_index(batch_op.f("ix_meters_concentrator_id"))
        batch_op.drop_index(batch_op.f("ix_meters_brand"))
        batch_op.drop_index(batch_op.f("ix_meters_area_id"))

    op.drop_table("meters")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customers_customer_name"))
        batch_op.drop_index(batch_op.f("ix_customers_area_id"))

    op.drop_table("customers")
    with op.batch_alter_table("sim_cards", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sim_cards_msisdn"))

    op.drop_table("sim_cards")
    op.drop_table("readings")
    op.drop_table("obis_codes")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))
        batch_op.drop_index(batch_op.f("ix_audit_log_actor"))

    op.drop_table("audit_log")
    with op.batch_alter_table("areas", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_areas_name"))

    op.drop_table("areas")


_READINGS_COLUMNS = """
    meter_id integer NOT NULL,
    obis_id smallint NOT NULL,
    ts timestamptz NOT NULL,
    value double precision NOT NULL,
    quality smallint NOT NULL DEFAULT 0,
    source smallint NOT NULL DEFAULT 0,
    CONSTRAINT pk_readings PRIMARY KEY (meter_id, obis_id, ts)
"""


def _create_readings() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE TABLE readings ({_READINGS_COLUMNS}) PARTITION BY RANGE (ts)")
        op.execute("CREATE TABLE readings_default PARTITION OF readings DEFAULT")
        return
    op.create_table(
        "readings",
        sa.Column("meter_id", sa.Integer(), nullable=False),
        sa.Column("obis_id", sa.SmallInteger(), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("quality", sa.SmallInteger(), nullable=False, server_default="0"),
        sa.Column("source", sa.SmallInteger(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("meter_id", "obis_id", "ts", name=op.f("pk_readings")),
        sqlite_with_rowid=False,
    )
