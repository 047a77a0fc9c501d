"""Wire schemas of on-demand meter reads."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from hes.api.schemas.common import CamelModel, InputModel
from hes.api.schemas.readings import ObisText
from hes.connectivity.collection import MeterValue
from hes.connectivity.on_demand import MAX_CODES


class MeterReadRequest(InputModel):
    """What to read; without `obis`, the brand's main registers (energy, voltage, current, frequency, power factor)."""

    obis: list[ObisText] | None = Field(
        default=None, max_length=MAX_CODES, description="OBIS codes of registers, e.g. 1-0:1.8.0.255"
    )


class MeterValueOut(CamelModel):
    """One value read: `value` null and quality "missing" when the meter refused that object."""

    obis: str
    value: float | None
    unit: str | None
    timestamp: datetime
    quality: str

    @classmethod
    def of(cls, value: MeterValue) -> MeterValueOut:
        """The wire form of a value read."""
        return cls(
            obis=str(value.obis),
            value=value.value,
            unit=value.unit,
            timestamp=value.timestamp,
            quality=value.quality.name.lower(),
        )
