"""Reading a meter's frame counter before associating with keys: the public client needs none.

A HES that lost track of the invocation counter it uses with a meter's keys (a restart without the persisted
value, a second HES, a replaced modem) cannot associate with HLS-GMAC: the meter refuses a counter that is not
above the last one it accepted. IDIS meters show that counter in a Data object (0-0:43.1.0.255) the public client
(SAP 16, no authentication, no ciphering) may read.
"""

from __future__ import annotations

from dataclasses import replace

from hes.connectivity.dlms import reads
from hes.connectivity.dlms.errors import MalformedAnswer
from hes.connectivity.dlms.limits import ClientLimits
from hes.connectivity.dlms.link import PUBLIC_CLIENT, MeterLink
from hes.connectivity.dlms.session import DlmsSession, Timeouts
from hes.connectivity.dlms.values import ObjectReference
from hes.db.enums import DlmsAuthentication
from hes.obis.codes import ObisCode

__all__ = ["FRAME_COUNTER", "read_frame_counter"]

# Security setup's invocation counter for the management client (IDIS; the Green Book's "frame counter").
FRAME_COUNTER = ObisCode(0, 0, 43, 1, 0, 255)
_DATA_CLASS, _VALUE = 1, 2


async def read_frame_counter(
    link: MeterLink, timeouts: Timeouts | None = None, *, limits: ClientLimits | None = None
) -> int:
    """The meter's frame counter (0-0:43.1.0.255 value), read as the public client without security.

    Meters differ in what it shows: the last invocation counter accepted with the management client's key, or
    the next one they accept. Use the value + 1 as the next session's `MeterLink.invocation_counter`: it is
    accepted either way.

    Raises:
        DlmsError: as DlmsSession.connect (AssociationRejected when the meter serves no public client);
            DataAccessError when it does not show the object to the public client; MalformedAnswer when the
            value is not a number.
    """
    public = replace(
        link,
        client_address=PUBLIC_CLIENT,
        authentication=DlmsAuthentication.NONE,
        password=None,
        authentication_key=None,
        block_cipher_key=None,
        client_system_title=None,
    )
    async with DlmsSession.connect(public, timeouts, limits=limits) as session:
        # A standard object the brand profiles need not list: read without the profile's check.
        value = await reads.read_raw(session, ObjectReference(_DATA_CLASS, FRAME_COUNTER, _VALUE))
    if not isinstance(value, int) or isinstance(value, bool):
        raise MalformedAnswer(f"frame counter {value!r} is not a number")
    return value
