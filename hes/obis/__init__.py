"""OBIS codes (IEC 62056-61): the value type; brand profiles live next to it."""

from hes.obis.codes import ObisCode

__all__ = ["ObisCode"]
