"""Profile generic (class 7, Blue Book 4.3.6): load profiles, billing values and event logs.

The buffer is the meter state's rows for this profile, each typed column by column through the captured object
(a register scales its quantity, the clock encodes its moment), newest rows kept up to profile_entries. The
buffer can be read whole or with selective access (`selective_access`). Reset hides the rows captured so far;
capture is accepted but rows come from the meter state.
"""

from __future__ import annotations

from collections.abc import Sequence

from hes.obis.profile_types import ObjectReference
from hes.simulator.cosem.base import ActionOutcome, CosemObject, ReadResult
from hes.simulator.cosem.conversions import capture_definition, plain_data
from hes.simulator.cosem.selective_access import requested_span, select
from hes.simulator.cosem.shared import Setting
from hes.simulator.cosem.state import RowValue, TimeSpan
from hes.simulator.dlms.apdu_services import ActionResult, DataAccessResult
from hes.simulator.dlms.axdr import MAX_ELEMENTS
from hes.simulator.dlms.values import (
    Data,
    array,
    double_long_unsigned,
    enum,
    integer,
    long_unsigned,
    octets,
    structure,
)

__all__ = ["MAX_ENTRIES", "SORT_FIFO", "ProfileGeneric"]

# Most entries a buffer holds when the profile gives no profile_entries: the most an A-XDR array can carry
# (hes.simulator.dlms.axdr.MAX_ELEMENTS); a year of 15-minute rows (35,040) fits.
MAX_ENTRIES = MAX_ELEMENTS
SORT_FIFO = 1  # sort_method enum: first in, first out (by capture time)


def _valid_capacity(value: Data) -> bool:
    return isinstance(value.value, int) and not isinstance(value.value, bool) and 0 < value.value <= MAX_ENTRIES


class ProfileGeneric(CosemObject):
    """Profile generic (class 7): a buffer of captured rows with its capture objects."""

    SETTINGS = (
        Setting(4, double_long_unsigned(0)),  # capture_period, seconds
        Setting(5, enum(SORT_FIFO)),  # sort_method
        Setting(6, structure(long_unsigned(0), octets(bytes(6)), integer(0), long_unsigned(0))),  # sort_object
        Setting(8, double_long_unsigned(MAX_ENTRIES), check=_valid_capacity),  # profile_entries
    )
    _hidden = 0  # rows of the meter state hidden by the last reset

    @property
    def columns(self) -> tuple[ObjectReference, ...]:
        """The capture objects, in buffer column order."""
        return self.spec.capture_objects

    def read(self, attribute: int) -> ReadResult | None:
        """buffer (2), capture_objects (3) and entries_in_use (7)."""
        if attribute == 2:
            return self._read_buffer()
        if attribute == 3:
            return array(
                *(
                    capture_definition(ref.class_id, ref.obis.to_bytes(), ref.attribute, ref.data_index)
                    for ref in self.columns
                )
            )
        if attribute == 7:
            return double_long_unsigned(len(self._raw_rows()))
        return None

    def select(self, attribute: int, selector: int, parameters: Data) -> ReadResult | None:
        """The buffer (2) by range or by entry."""
        return self._select(selector, parameters) if attribute == 2 else None

    def invoke(self, method: int, parameters: Data | None) -> ActionOutcome | None:
        """reset (1) and capture (2)."""
        if method == 1:
            return self._reset(parameters)
        if method == 2:
            return self._capture(parameters)
        return None

    @property
    def capacity(self) -> int:
        """profile_entries: the most entries the buffer keeps."""
        value = self.stored(8).value
        return min(value, MAX_ENTRIES) if isinstance(value, int) and value > 0 else MAX_ENTRIES

    def buffer(self, span: TimeSpan | None = None) -> list[Data]:
        """The buffer's rows as structures, oldest first (`span`: the moments a range access asks for, a hint).

        Raises:
            ValueError: the meter state gave a row that does not match the capture objects.
        """
        captured = [(self.resolve(ref.class_id, ref.obis), ref) for ref in self.columns]
        rows = []
        for row in self._raw_rows(span):
            if len(row) != len(captured):
                raise ValueError(f"{self.obis}: a row of {len(row)} values for {len(captured)} capture objects")
            cells = []
            for (target, reference), cell in zip(captured, row, strict=True):
                # A whole attribute is typed by its object; one element of it (data_index > 0) by its value.
                if target is not None and reference.data_index == 0:
                    cells.append(target.capture(reference.attribute, cell))
                else:
                    cells.append(plain_data(cell))
            rows.append(structure(*cells))
        return rows

    def _raw_rows(self, span: TimeSpan | None = None) -> Sequence[Sequence[RowValue]]:
        # Rows hidden by a reset are counted over the whole buffer, so a reset buffer is never read by span.
        rows = self.state.profile_rows(self.obis, self.columns, None if self._hidden else span)[self._hidden :]
        return rows[-self.capacity :]

    def _read_buffer(self) -> ReadResult:
        try:
            return array(*self.buffer())
        except ValueError:
            return DataAccessResult.OTHER_REASON  # the meter state's rows do not fit the capture objects

    def _select(self, selector: int, parameters: Data) -> ReadResult:
        try:
            rows = self.buffer(requested_span(selector, parameters, self.columns, self.zone))
        except ValueError:
            return DataAccessResult.OTHER_REASON
        return select(selector, parameters, self.columns, rows, self.zone)

    def _reset(self, parameters: Data | None) -> ActionOutcome:
        self._hidden = len(self.state.profile_rows(self.obis, self.columns))
        self.state.method_invoked(self.obis, 1, parameters)
        return ActionResult.SUCCESS

    def _capture(self, parameters: Data | None) -> ActionOutcome:
        self.state.method_invoked(self.obis, 2, parameters)
        return ActionResult.SUCCESS
