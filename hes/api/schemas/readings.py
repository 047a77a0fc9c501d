"""Wire schemas of readings."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BeforeValidator

from hes.api.schemas.common import CamelModel
from hes.obis.codes import ObisCode
from hes.services.readings import ReadingView

# "+01:00" typed into a URL arrives as " 01:00" (a "+" in a query string means a space).
_DECODED_PLUS = re.compile(r"(.+[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}(?::?\d{2})?)")


def _restore_plus(value: object) -> object:
    if isinstance(value, str) and (match := _DECODED_PLUS.fullmatch(value.strip())):
        return f"{match[1]}+{match[2]}"
    return value


def _obis_text(value: str) -> str:
    # Checked here too (the service checks again) so one 422 lists a bad code next to a bad time.
    return str(ObisCode.parse(value))


QueryTime = Annotated[AwareDatetime, BeforeValidator(_restore_plus)]
ObisText = Annotated[str, AfterValidator(_obis_text)]


class ReadingOut(CamelModel):
    """A reading as the API shows it."""

    obis: str
    timestamp: datetime
    value: float
    unit: str | None
    quality: str
    source: str

    @classmethod
    def of(cls, view: ReadingView) -> ReadingOut:
        """The wire form of a service's reading view."""
        return cls(
            obis=str(view.obis),
            timestamp=view.timestamp,
            value=view.value,
            unit=view.unit,
            quality=view.quality.name.lower(),
            source=view.source.name.lower(),
        )
