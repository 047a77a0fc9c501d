"""What the HES needs to talk to one meter: where it is, how it frames, who we are to it, and its secrets.

A `MeterLink` is plain data. The caller builds it from the meter's record (decrypting the stored secrets); this
package never touches the database. Secrets stay out of repr(), so a link can be logged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hes.db.enums import DlmsAuthentication, DlmsTransport

__all__ = [
    "DEFAULT_PORT",
    "KEY_LENGTH",
    "MANAGEMENT_CLIENT",
    "MANAGEMENT_LOGICAL_DEVICE",
    "MAX_INVOCATION_COUNTER",
    "PUBLIC_CLIENT",
    "SYSTEM_TITLE_LENGTH",
    "MeterLink",
]

DEFAULT_PORT = 4059  # IANA "dlms/cosem" port (IEC 62056-9-7)
PUBLIC_CLIENT = 16  # the public client SAP: no authentication, reads identification (IEC 62056-5-3, Green Book)
MANAGEMENT_CLIENT = 1  # the management client SAP most IDIS meters expect the HES to use
MANAGEMENT_LOGICAL_DEVICE = 1  # the server's management logical device (IEC 62056-6-2)
KEY_LENGTH = 16  # security suite 0: AES-128
SYSTEM_TITLE_LENGTH = 8  # IEC 62056-5-3 4.3.4: 3-octet manufacturer FLAG id + 5 octets
MAX_INVOCATION_COUNTER = 0xFFFF_FFFF  # the invocation counter is an Unsigned32; once used up the key must change
# HDLC lower (physical) addresses a meter may have (IEC 62056-46 6.4.2.2).
_PHYSICAL_ADDRESSES = range(0x10, 0x3FFE)


@dataclass(frozen=True, slots=True)
class MeterLink:
    """Everything needed to open a DLMS session with one meter.

    Attributes:
        meter_id: the meter's database id (for logs and events only).
        meter_number: the meter's number as printed on it.
        host, port: where the meter listens (outbound sessions; unused over an accepted stream).
        transport: TCP wrapper (IEC 62056-47) or HDLC (IEC 62056-46).
        client_address: our client SAP (1 management, 16 public, a brand's own).
        server_address: the server's logical device address (1: management logical device).
        physical_address: the HDLC lower address (unused over the wrapper).
        authentication: none, LLS (password) or HLS-GMAC (keys).
        password: the LLS secret.
        authentication_key, block_cipher_key: suite-0 keys; with a block cipher key every request is
            authenticated and encrypted (service-specific glo ciphering).
        client_system_title: our 8-octet system title (ciphered sessions).
        invocation_counter: the next invocation counter to use with these keys (persisted per meter and key).
        brand: the brand profile (hes.obis.profiles) that says each object's interface class.
    """

    meter_id: int
    meter_number: str
    host: str
    port: int = DEFAULT_PORT
    transport: DlmsTransport = DlmsTransport.WRAPPER
    client_address: int = MANAGEMENT_CLIENT
    server_address: int = MANAGEMENT_LOGICAL_DEVICE
    physical_address: int = 0x10
    authentication: DlmsAuthentication = DlmsAuthentication.NONE
    password: bytes | None = field(default=None, repr=False)
    authentication_key: bytes | None = field(default=None, repr=False)
    block_cipher_key: bytes | None = field(default=None, repr=False)
    client_system_title: bytes | None = None
    invocation_counter: int = 1
    brand: str = "idis"

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def hdlc(self) -> bool:
        """Whether the meter frames with HDLC (else the TCP wrapper)."""
        return self.transport is DlmsTransport.HDLC

    @property
    def uses_password(self) -> bool:
        """Whether the association authenticates with the LLS password."""
        return self.authentication is DlmsAuthentication.LLS

    @property
    def ciphered(self) -> bool:
        """Whether requests and answers are authenticated and encrypted (a block cipher key is set)."""
        return self.block_cipher_key is not None

    def problems(self) -> list[str]:
        """Every reason this link cannot be used (empty when it can); never shows a secret."""
        problems = []
        if not 0 <= self.port <= 65535:
            problems.append(f"port {self.port} is not 0-65535")
        if not 1 <= self.client_address <= 0x7F:
            problems.append(f"client address {self.client_address} is not 1-127")
        if not 0 <= self.server_address <= 0x3FFF:
            problems.append(f"server address {self.server_address} is not 0-16383")
        if self.transport is DlmsTransport.HDLC and self.physical_address not in _PHYSICAL_ADDRESSES:
            problems.append(f"HDLC physical address {self.physical_address} is not 16-16381")
        if self.authentication is DlmsAuthentication.LLS and not self.password:
            problems.append("LLS needs a password")
        if self.authentication is DlmsAuthentication.HLS_GMAC and self.block_cipher_key is None:
            problems.append("HLS-GMAC needs a block cipher key and an authentication key")
        for name in ("authentication_key", "block_cipher_key"):
            key = getattr(self, name)
            if key is not None and len(key) != KEY_LENGTH:
                problems.append(f"{name} must be {KEY_LENGTH} octets, not {len(key)}")
        if self.ciphered:
            if self.authentication_key is None:
                problems.append("a ciphered link needs an authentication key")
            if self.client_system_title is None or len(self.client_system_title) != SYSTEM_TITLE_LENGTH:
                problems.append(f"a ciphered link needs a {SYSTEM_TITLE_LENGTH}-octet client system title")
        if not 0 <= self.invocation_counter <= MAX_INVOCATION_COUNTER:
            problems.append(f"invocation counter {self.invocation_counter} does not fit 32 bits")
        return problems
