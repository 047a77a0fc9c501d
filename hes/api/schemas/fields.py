"""Field types shared by the resource schemas: identifiers, addresses, inert text."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

from hes import validation

# Markup and control characters have no place in names and labels; refusing them keeps stored text inert.
_MARKUP = re.compile(r"[<>\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _no_markup(value: str) -> str:
    if _MARKUP.search(value):
        raise ValueError("must not contain '<', '>' or control characters")
    return value


NoMarkup = AfterValidator(_no_markup)
MeterNumber = Annotated[str, StringConstraints(min_length=1, max_length=32), AfterValidator(validation.meter_number)]
IpAddress = Annotated[str, StringConstraints(min_length=1, max_length=45), AfterValidator(validation.ip_address)]
Identifier32 = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9\-_/.]*$")]
Text40 = Annotated[str, StringConstraints(min_length=1, max_length=40), NoMarkup]
Text60 = Annotated[str, StringConstraints(min_length=1, max_length=60), NoMarkup]
Port = Annotated[int, AfterValidator(validation.port)]
