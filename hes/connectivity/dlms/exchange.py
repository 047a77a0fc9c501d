"""One request of a client session and what the core answers while it runs (no I/O).

A request method of `DlmsClient` returns an `Exchange`; `receive_data` answers `NEED_DATA`, `Send(frame)` or
`DONE`; once DONE, `Exchange.result()` gives the result or raises the meter's refusal. Internally an exchange is a
chain of `Phase`s (SNRM, AARQ, HLS pass 3 for an association; one GET per message of a GET-with-list).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Generic, TypeVar

from hes.connectivity.dlms.errors import DlmsError, LocalProtocolError

__all__ = ["DONE", "NEED_DATA", "Exchange", "Phase", "Progress", "Send"]

T = TypeVar("T")


class Progress(Enum):
    """What `receive_data` says when there is nothing to send."""

    NEED_DATA = "need-data"  # the answer is not whole yet: read more
    DONE = "done"  # the exchange is finished: call its result()


NEED_DATA = Progress.NEED_DATA
DONE = Progress.DONE


@dataclass(frozen=True, slots=True)
class Send:
    """Send `data` to the meter, then read its answer."""

    data: bytes


class Exchange(Generic[T]):
    """One request of a session: the first frame to send, then (once DONE) its result or the meter's refusal."""

    __slots__ = ("_error", "_result", "done", "request")

    def __init__(self) -> None:
        self.request = b""
        self.done = False
        self._result: T | None = None
        self._error: DlmsError | None = None

    def finish(self, result: T) -> None:
        """Record the result."""
        self._result, self.done = result, True

    def refuse(self, error: DlmsError) -> None:
        """Record the meter's refusal (raised by result())."""
        self._error, self.done = error, True

    def result(self) -> T:
        """The result.

        Raises:
            LocalProtocolError: the exchange is not finished.
            DataAccessError, ActionError: the meter refused the request (the session stays usable).
        """
        if not self.done:
            raise LocalProtocolError("the exchange is not finished")
        if self._error is not None:
            raise self._error
        return self._result  # type: ignore[return-value]  # set by finish() whenever _error is None


@dataclass(slots=True)
class Phase:
    """One request of an exchange: its frames still to send, and what to do with the whole answer."""

    frames: list[bytes]
    on_answer: Callable[[Any], Phase | None]  # gets the complete GXReplyData; the next phase, or None: done
