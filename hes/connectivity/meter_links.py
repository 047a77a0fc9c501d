"""Where a meter is and how to associate with it: the meter's record turned into a target and a MeterLink.

A `MeterTarget` is what the job queue keeps per meter: its channel (outbound TCP, the socket a dial-in meter
holds open, or none), the host:port sessions are counted against, and its DLMS settings with the secrets still
sealed. `link()` opens the secrets with the data key only when a session is about to start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from hes.connectivity.catalogue import profile_name
from hes.connectivity.dlms import MeterLink
from hes.db.enums import ConnectionMode, DlmsAuthentication, DlmsTransport, MeterStatus
from hes.db.store.meter_links import MeterLinkRow
from hes.security.secret_box import SecretBox

__all__ = ["ACTIVE_STATUSES", "POLLED_MODES", "Channel", "MeterTarget"]

# Meters in the field; stock, faulty and decommissioned meters are not polled (a person decides about them).
ACTIVE_STATUSES = frozenset({MeterStatus.INSTALLED, MeterStatus.ONLINE, MeterStatus.OFFLINE})
# Connection modes HES Core polls: it connects out, or runs the session on the socket the meter opened.
POLLED_MODES = frozenset({ConnectionMode.OUTBOUND, ConnectionMode.DIAL_IN})
_DEFAULT_PHYSICAL_ADDRESS = 0x10  # the lowest HDLC physical address (IEC 62056-46 6.4.2.2)


class Channel(StrEnum):
    """How a session reaches a meter."""

    OUTBOUND = "outbound"  # HES Core opens TCP to the meter's (or its SIM's) address
    DIAL_IN = "dial-in"  # over the connection the meter opened to HES Core
    NONE = "none"  # HTTP, MQTT, or an outbound meter without an address


@dataclass(frozen=True, slots=True)
class MeterTarget:
    """A meter as the job queue sees it: identity, channel, route and sealed DLMS settings."""

    meter_id: int
    meter_number: str
    brand: str  # the brand profile's name (hes.obis.profiles)
    area_id: int | None
    status: MeterStatus
    connection_mode: ConnectionMode
    host: str | None
    port: int
    transport: DlmsTransport
    client_address: int
    server_address: int
    physical_address: int
    authentication: DlmsAuthentication
    password_enc: bytes | None = field(default=None, repr=False)
    authentication_key_enc: bytes | None = field(default=None, repr=False)
    block_cipher_key_enc: bytes | None = field(default=None, repr=False)
    invocation_counter: int = 0  # as stored: the ceiling of the counters already used with its keys

    @classmethod
    def from_row(cls, row: MeterLinkRow, default_port: int) -> MeterTarget:
        """The target of a meter record: its own address, else its SIM's (on the default DLMS port)."""
        host = row.ip_address or row.sim_ip_address
        port = row.port if row.ip_address and row.port else default_port
        return cls(
            meter_id=row.id,
            meter_number=row.meter_number,
            brand=profile_name(row.brand),
            area_id=row.area_id,
            status=row.status,
            connection_mode=row.connection_mode,
            host=host,
            port=port,
            transport=row.transport,
            client_address=row.client_address,
            server_address=row.server_address,
            physical_address=row.physical_address or _DEFAULT_PHYSICAL_ADDRESS,
            authentication=row.authentication,
            password_enc=row.password_enc,
            authentication_key_enc=row.authentication_key_enc,
            block_cipher_key_enc=row.block_cipher_key_enc,
            invocation_counter=row.invocation_counter,
        )

    @property
    def channel(self) -> Channel:
        """How a session reaches the meter (push meters that listen are read outbound)."""
        if self.connection_mode is ConnectionMode.DIAL_IN:
            return Channel.DIAL_IN
        if self.connection_mode in (ConnectionMode.OUTBOUND, ConnectionMode.PUSH) and self.host:
            return Channel.OUTBOUND
        return Channel.NONE

    @property
    def route(self) -> str:
        """What per-target limits count sessions against: host:port, or the meter's own socket."""
        if self.channel is Channel.OUTBOUND:
            return f"{self.host}:{self.port}"
        return f"meter:{self.meter_id}"

    @property
    def ciphered(self) -> bool:
        """Whether sessions are authenticated and encrypted (a block cipher key is stored)."""
        return self.block_cipher_key_enc is not None

    def link(self, box: SecretBox, client_system_title: bytes, invocation_counter: int) -> MeterLink:
        """The MeterLink of a session starting now, its secrets opened.

        Raises:
            ValueError: a secret sealed with another data key, or settings the link refuses (MeterLink.problems).
        """
        return MeterLink(
            meter_id=self.meter_id,
            meter_number=self.meter_number,
            host=self.host or "",
            port=self.port,
            transport=self.transport,
            client_address=self.client_address,
            server_address=self.server_address,
            physical_address=self.physical_address,
            authentication=self.authentication,
            password=_open(box, self.password_enc),
            authentication_key=_open(box, self.authentication_key_enc),
            block_cipher_key=_open(box, self.block_cipher_key_enc),
            client_system_title=client_system_title if self.ciphered else None,
            invocation_counter=invocation_counter,
            brand=self.brand,
        )


def _open(box: SecretBox, sealed: bytes | None) -> bytes | None:
    return box.open(sealed) if sealed is not None else None
