"""Closed vocabularies stored in the tables (lifecycle states, roles, kinds)."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Role(StrEnum):
    """What a user may do: admin everything, operator all but users/settings, viewer reads, customer own data."""

    ADMIN = "admin"
    OPERATOR = "operator"
    VIEWER = "viewer"
    CUSTOMER = "customer"


class MeterStatus(StrEnum):
    """A meter's lifecycle: from the warehouse to decommissioning."""

    WAREHOUSE = "warehouse"
    INSTALLED = "installed"
    ONLINE = "online"
    OFFLINE = "offline"
    FAULTY = "faulty"
    DECOMMISSIONED = "decommissioned"


class RelayState(StrEnum):
    """The supply relay (disconnect control) as last known."""

    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    READY_FOR_RECONNECTION = "ready_for_reconnection"
    UNKNOWN = "unknown"


class MeterType(StrEnum):
    """Electrical connection of a meter."""

    SINGLE_PHASE = "single-phase"
    THREE_PHASE = "three-phase"
    CT = "ct"
    CT_VT = "ct-vt"


class ConnectionMode(StrEnum):
    """How HES Core reaches a meter."""

    OUTBOUND = "outbound"
    DIAL_IN = "dial-in"
    PUSH = "push"
    MQTT = "mqtt"
    HTTP = "http"


class DlmsTransport(StrEnum):
    """DLMS lower layer: TCP wrapper (IEC 62056-47) or HDLC (IEC 62056-46)."""

    WRAPPER = "wrapper"
    HDLC = "hdlc"


class DlmsAuthentication(StrEnum):
    """Association authentication mechanism."""

    NONE = "none"
    LLS = "lls"
    HLS_GMAC = "hls-gmac"


class SimStatus(StrEnum):
    """A SIM card's state at the operator and in the stock."""

    ACTIVE = "active"
    INACTIVE = "inactive"
    SUSPENDED = "suspended"
    AVAILABLE = "available"


class CustomerType(StrEnum):
    """Tariff class of a customer."""

    RESIDENTIAL = "residential"
    COMMERCIAL = "commercial"
    INDUSTRIAL = "industrial"
    GOVERNMENT = "government"


class CustomerStatus(StrEnum):
    """A customer account's state; closed accounts keep their history."""

    ACTIVE = "active"
    CLOSED = "closed"


class AssignmentKind(StrEnum):
    """What a meter is linked to in the assignment history."""

    CUSTOMER = "customer"
    SIM = "sim"


class Severity(StrEnum):
    """Severity of an event or alert."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"


class EventCategory(StrEnum):
    """Family of a meter event."""

    COMMUNICATION = "communication"
    TAMPER = "tamper"
    POWER = "power"
    BILLING = "billing"
    TECHNICAL = "technical"


class AlertStatus(StrEnum):
    """Life of an alert."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class CommandStatus(StrEnum):
    """Life of a remote command."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"


class ReadingQuality(IntEnum):
    """Quality flag of a reading (small integer: stored on every one of hundreds of millions of rows)."""

    GOOD = 0
    ESTIMATED = 1
    SUSPECT = 2
    MISSING = 3


class ReadingSource(IntEnum):
    """Channel a reading arrived by (small integer, see ReadingQuality)."""

    DLMS_POLL = 0
    DLMS_PUSH = 1
    HTTP = 2
    MQTT = 3
    SOCKETIO = 4
    IMPORT = 5
