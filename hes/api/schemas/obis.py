"""Wire schemas of the OBIS catalogue: brands, and a brand's objects grouped for the console."""

from __future__ import annotations

from hes.api.schemas.common import CamelModel
from hes.obis import ClientRole
from hes.services.obis_catalogue import BrandSummary, Catalogue, MemberView, ObjectView


class ClientRoleOut(CamelModel):
    """A DLMS client of the meter: role name and client SAP (management 1, public 16, ...)."""

    name: str
    sap: int

    @classmethod
    def of(cls, role: ClientRole) -> ClientRoleOut:
        """The wire form of a profile's client role."""
        return cls(name=role.name, sap=role.sap)


class BrandOut(CamelModel):
    """A brand with an OBIS profile."""

    brand: str
    extends: str | None
    objects: int
    clients: list[ClientRoleOut]

    @classmethod
    def of(cls, summary: BrandSummary) -> BrandOut:
        """The wire form of a brand summary."""
        clients = [ClientRoleOut.of(role) for role in summary.clients]
        return cls(brand=summary.brand, extends=summary.extends, objects=summary.objects, clients=clients)


class MemberOut(CamelModel):
    """An attribute or method: index, name, IEC 62056-6-2 data type and its size (octets; bits of a bit-string)."""

    index: int
    name: str
    type: str | None
    size: int | None

    @classmethod
    def of(cls, member: MemberView) -> MemberOut:
        """The wire form of an attribute or method view."""
        return cls(index=member.index, name=member.name, type=member.data_type, size=member.size)


class CosemObjectOut(CamelModel):
    """A COSEM object: OBIS code `A-B:C.D.E.F`, interface class, scaler and unit, what the client may do with it."""

    obis: str
    name: str
    class_id: int
    version: int
    scaler: int | None
    unit: str | None
    readable: list[MemberOut]
    writable: list[MemberOut]
    methods: list[MemberOut]

    @classmethod
    def of(cls, view: ObjectView) -> CosemObjectOut:
        """The wire form of an object view."""
        return cls(
            obis=str(view.obis),
            name=view.name,
            class_id=view.class_id,
            version=view.version,
            scaler=view.scaler,
            unit=view.unit,
            readable=[MemberOut.of(member) for member in view.readable],
            writable=[MemberOut.of(member) for member in view.writable],
            methods=[MemberOut.of(member) for member in view.methods],
        )


class ObisGroupOut(CamelModel):
    """The objects of one group, in profile order."""

    name: str
    objects: list[CosemObjectOut]


class CatalogueOut(CamelModel):
    """A brand's objects by group, with the rights of `client`; `total` counts the objects listed."""

    brand: str
    extends: str | None
    client: ClientRoleOut
    clients: list[ClientRoleOut]
    total: int
    groups: list[ObisGroupOut]

    @classmethod
    def of(cls, found: Catalogue) -> CatalogueOut:
        """The wire form of a catalogue."""
        return cls(
            brand=found.brand,
            extends=found.extends,
            client=ClientRoleOut.of(found.client),
            clients=[ClientRoleOut.of(role) for role in found.clients],
            total=found.total,
            groups=[
                ObisGroupOut(name=group.name, objects=[CosemObjectOut.of(view) for view in group.objects])
                for group in found.groups
            ],
        )
