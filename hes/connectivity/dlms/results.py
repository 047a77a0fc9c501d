"""The result and diagnostic codes a DLMS/COSEM meter answers with (IEC 62056-5-3), as enums.

A meter may send a code outside these tables (a vendor's own, or a newer edition's): the errors that carry codes
keep the integer and show the enum name only when the code is known (`describe`).
"""

from __future__ import annotations

from enum import IntEnum

__all__ = [
    "ActionResult",
    "AssociationResult",
    "DataAccessResult",
    "ExceptionServiceError",
    "ExceptionStateError",
    "SourceDiagnostic",
    "describe",
]


class DataAccessResult(IntEnum):
    """The result of one GET or SET of an attribute (IEC 62056-5-3 8.3, Data-Access-Result)."""

    SUCCESS = 0
    HARDWARE_FAULT = 1
    TEMPORARY_FAILURE = 2
    READ_WRITE_DENIED = 3
    OBJECT_UNDEFINED = 4
    OBJECT_CLASS_INCONSISTENT = 9
    OBJECT_UNAVAILABLE = 11
    TYPE_UNMATCHED = 12
    SCOPE_OF_ACCESS_VIOLATED = 13
    DATA_BLOCK_UNAVAILABLE = 14
    LONG_GET_ABORTED = 15
    NO_LONG_GET_IN_PROGRESS = 16
    LONG_SET_ABORTED = 17
    NO_LONG_SET_IN_PROGRESS = 18
    DATA_BLOCK_NUMBER_INVALID = 19
    OTHER_REASON = 250


class ActionResult(IntEnum):
    """The result of one ACTION (method invocation) (IEC 62056-5-3 8.3, Action-Result)."""

    SUCCESS = 0
    HARDWARE_FAULT = 1
    TEMPORARY_FAILURE = 2
    READ_WRITE_DENIED = 3
    OBJECT_UNDEFINED = 4
    OBJECT_CLASS_INCONSISTENT = 9
    OBJECT_UNAVAILABLE = 11
    TYPE_UNMATCHED = 12
    SCOPE_OF_ACCESS_VIOLATED = 13
    DATA_BLOCK_UNAVAILABLE = 14
    LONG_ACTION_ABORTED = 15
    NO_LONG_ACTION_IN_PROGRESS = 16
    OTHER_REASON = 250


class AssociationResult(IntEnum):
    """The result field of an AARE (IEC 62056-5-3 9.3.2 / ISO 8650 Association-result)."""

    ACCEPTED = 0
    REJECTED_PERMANENT = 1
    REJECTED_TRANSIENT = 2


class SourceDiagnostic(IntEnum):
    """The acse-service-user diagnostic of an AARE: why an association was refused."""

    NULL = 0
    NO_REASON_GIVEN = 1
    APPLICATION_CONTEXT_NAME_NOT_SUPPORTED = 2
    CALLING_AP_TITLE_NOT_RECOGNIZED = 3
    CALLING_AP_INVOCATION_IDENTIFIER_NOT_RECOGNIZED = 4
    CALLING_AE_QUALIFIER_NOT_RECOGNIZED = 5
    CALLING_AE_INVOCATION_IDENTIFIER_NOT_RECOGNIZED = 6
    CALLED_AP_TITLE_NOT_RECOGNIZED = 7
    CALLED_AP_INVOCATION_IDENTIFIER_NOT_RECOGNIZED = 8
    CALLED_AE_QUALIFIER_NOT_RECOGNIZED = 9
    CALLED_AE_INVOCATION_IDENTIFIER_NOT_RECOGNIZED = 10
    AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED = 11
    AUTHENTICATION_MECHANISM_NAME_REQUIRED = 12
    AUTHENTICATION_FAILURE = 13
    AUTHENTICATION_REQUIRED = 14


class ExceptionStateError(IntEnum):
    """The state-error of an exception-response (IEC 62056-5-3 8.3)."""

    SERVICE_NOT_ALLOWED = 1
    SERVICE_UNKNOWN = 2


class ExceptionServiceError(IntEnum):
    """The service-error of an exception-response (IEC 62056-5-3 8.3)."""

    OPERATION_NOT_POSSIBLE = 1
    SERVICE_NOT_SUPPORTED = 2
    OTHER_REASON = 3
    PDU_TOO_LONG = 4
    DECIPHERING_ERROR = 5
    INVOCATION_COUNTER_ERROR = 6


def describe(table: type[IntEnum], code: int | None) -> str:
    """A code as "name (number)" when `table` knows it, else the bare number ("unknown" for None)."""
    if code is None:
        return "unknown"
    try:
        return f"{table(code).name.lower().replace('_', '-')} ({code})"
    except ValueError:
        return str(code)
