"""The management client's invocation counter (IDIS: Data 0-0:43.1.0.255), readable before a client associates.

A HES that lost track of a meter's invocation counter (a restart, a second HES, a replaced modem) cannot associate
with HLS-GMAC and ciphering: the meter refuses a counter that is not above the last one it accepted. IDIS therefore
puts the counter in a Data object the public client (16, no authentication, no ciphering) may read; the HES reads
it, then associates as the management client from that value on.

What the value is: the lowest invocation counter the meter accepts next from the management client, i.e. the last
counter it accepted plus one (0 before it accepted any). Real IDIS meters differ here (some show the last counter
received, and gurux's reader example adds 1 to whatever it reads); showing the next acceptable value means a
client may use the value as read, and a client that adds 1 is accepted too.

The object is the profile's own when the brand profile lists 0-0:43.1.0.255, else the simulator adds it (the
three brand profiles do not list it), readable by every client of the profile.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from hes.obis import Access, ObisCode
from hes.obis.profile_types import AttributeSpec, ClientRole, CosemObjectSpec
from hes.simulator.cosem.base import ReadResult, Resolver
from hes.simulator.cosem.conversions import to_data
from hes.simulator.cosem.registers import DataObject
from hes.simulator.cosem.state import MeterState
from hes.simulator.dlms.apdu_services import DataAccessResult
from hes.simulator.dlms.association_config import SecurityState
from hes.simulator.dlms.security_counters import MAX_INVOCATION_COUNTER
from hes.simulator.dlms.values import Data

__all__ = ["INVOCATION_COUNTER", "InvocationCounterData", "expected_invocation_counter", "invocation_counter_spec"]

INVOCATION_COUNTER = ObisCode(0, 0, 43, 1, 0, 255)
_DATA_CLASS = 1
# Profiles whose client lists get a spec of their own (one per brand in practice).
_CLIENT_LISTS = 64


def expected_invocation_counter(security: SecurityState | None) -> int:
    """The lowest counter the meter accepts next from its ciphered client: last accepted + 1, 0 before any.

    Once the last accepted counter is the largest an Unsigned32 holds, no counter is left (the key must be
    changed, IEC 62056-5-3 9.2.7.2.4.5); the object then shows that largest value, which the meter refuses.
    """
    last = security.client_guard.last if security is not None else None
    return 0 if last is None else min(last + 1, MAX_INVOCATION_COUNTER)


@functools.lru_cache(maxsize=_CLIENT_LISTS)
def invocation_counter_spec(clients: Sequence[ClientRole]) -> CosemObjectSpec:
    """The object for a profile that does not list it: a double-long-unsigned every client in `clients` may read."""
    readable = tuple((role.sap, Access.READ) for role in clients)
    attributes = (
        AttributeSpec(1, "logical_name", "octet-string", 6, access=readable),
        AttributeSpec(2, "value", "double-long-unsigned", access=readable),
    )
    return CosemObjectSpec(INVOCATION_COUNTER, _DATA_CLASS, 0, "Invocation counter", "Security", attributes)


class InvocationCounterData(DataObject):
    """Data (class 1) 0-0:43.1.0.255: the meter's expected next invocation counter of its ciphered client."""

    def __init__(
        self, spec: CosemObjectSpec, state: MeterState, resolve: Resolver, security: SecurityState | None
    ) -> None:
        """The counter object of a meter whose counters are `security` (None: no ciphered client, it reads 0)."""
        super().__init__(spec, state, resolve)
        self._security = security

    def read(self, attribute: int) -> ReadResult | None:
        """value (2): the counter now, typed as the profile says (double-long-unsigned)."""
        if attribute != 2:
            return None
        spec = self.value_spec
        try:
            return to_data(expected_invocation_counter(self._security), spec.data_type, spec.size)
        except ValueError:
            return DataAccessResult.OTHER_REASON  # a profile type the counter does not fit

    def write(self, attribute: int, value: Data) -> DataAccessResult | None:
        """Nothing: only the meter moves its counter (a client with write access is still refused)."""
        return None
