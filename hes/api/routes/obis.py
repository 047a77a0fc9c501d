"""/api/obis: the OBIS catalogue of each meter brand, grouped as the console shows it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from hes.api.deps import AnyUser
from hes.api.schemas.obis import BrandOut, CatalogueOut
from hes.services import obis_catalogue

router = APIRouter(prefix="/api/obis", tags=["obis"])


@router.get("", response_model=CatalogueOut)
async def get_catalogue(
    _principal: AnyUser,
    brand: Annotated[str, Query(min_length=1, max_length=40, description="Brand profile, e.g. hexing, hexcell, idis")],
    search: Annotated[
        str | None, Query(max_length=100, description="Part of a name, group or OBIS code; or a whole OBIS code")
    ] = None,
    group: Annotated[str | None, Query(max_length=120, description="One group, by its whole name")] = None,
    client: Annotated[
        str | None, Query(max_length=40, description="Client role whose rights are shown (default: management)")
    ] = None,
) -> CatalogueOut:
    """A brand's COSEM objects by group: readable and writable attributes and executable methods, with types."""
    return CatalogueOut.of(obis_catalogue.catalogue(brand, client, search, group))


@router.get("/brands", response_model=list[BrandOut])
async def list_brands(_principal: AnyUser) -> list[BrandOut]:
    """The brands with an OBIS profile."""
    return [BrandOut.of(summary) for summary in obis_catalogue.brands()]
