"""OBIS codes (IEC 62056-61): the value type; brand profiles live next to it."""

from hes.obis.codes import ObisCode
from hes.obis.profiles import (
    Access,
    AttributeSpec,
    BrandProfile,
    ClientRole,
    CosemObjectSpec,
    MethodSpec,
    ObjectReference,
    ProfileError,
    available_brands,
    load_profile,
)

__all__ = [
    "Access",
    "AttributeSpec",
    "BrandProfile",
    "ClientRole",
    "CosemObjectSpec",
    "MethodSpec",
    "ObisCode",
    "ObjectReference",
    "ProfileError",
    "available_brands",
    "load_profile",
]
