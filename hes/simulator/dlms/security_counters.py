"""Invocation counters of security suite 0: the meter's own counter and the replay guard on a client's.

IEC 62056-5-3 9.2.7.2.4.5: a client's invocation counter must grow with every ciphered APDU it sends (a replay or
a lower counter is refused), and the meter's own counter only ever increases; once it is exhausted the key must
be changed. The counters outlive one association, so they are kept apart from the ciphering in `security`.
"""

from __future__ import annotations

from hes.simulator.dlms.apdu import ExceptionServiceError
from hes.simulator.dlms.errors import LocalProtocolError, RemoteProtocolError

__all__ = ["MAX_INVOCATION_COUNTER", "InvocationCounter", "InvocationCounterGuard"]

MAX_INVOCATION_COUNTER = 0xFFFF_FFFF  # the IC is an Unsigned32; once exhausted the key must be changed


class InvocationCounterGuard:
    """The last invocation counter accepted from one client (per key): a new one must be strictly greater.

    Shared by every association of one meter with that client, so a replay is refused across associations too.
    """

    __slots__ = ("last",)

    def __init__(self, last: int | None = None) -> None:
        self.last = last

    def accept(self, invocation_counter: int) -> None:
        """Record a counter from an APDU whose tag verified.

        Raises:
            RemoteProtocolError (code INVOCATION_COUNTER_ERROR): the counter is not greater than the last one.
        """
        if self.last is not None and invocation_counter <= self.last:
            raise RemoteProtocolError(
                f"invocation counter {invocation_counter} is not above the last one accepted ({self.last})",
                ExceptionServiceError.INVOCATION_COUNTER_ERROR,
            )
        self.last = invocation_counter


class InvocationCounter:
    """The meter's own invocation counter for one key: every ciphered APDU it sends takes the next value."""

    __slots__ = ("_next",)

    def __init__(self, start: int = 1) -> None:
        if not 0 <= start <= MAX_INVOCATION_COUNTER:
            raise ValueError(f"invocation counter {start} does not fit 32 bits")
        self._next = start

    @property
    def next_value(self) -> int:
        """The value the next ciphered APDU will carry."""
        return self._next

    def take(self) -> int:
        """The next counter value; each value is given out once.

        Raises:
            LocalProtocolError: the counter is exhausted (the key must be changed, IEC 62056-5-3 9.2.7.2.4.5).
        """
        if self._next > MAX_INVOCATION_COUNTER:
            raise LocalProtocolError("invocation counter exhausted: the key must be changed")
        value = self._next
        self._next += 1
        return value
