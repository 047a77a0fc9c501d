"""The HES side of DLMS/COSEM: gurux-dlms's client driven sans-IO from asyncio, typed reads, our own errors.

    link = MeterLink(meter_id=1, meter_number="47007000001", host="10.0.0.5", brand="hexing", ...)
    async with DlmsSession.connect(link, Timeouts(response=30)) as session:
        clock = await session.read_clock()
        registers = await session.read_registers([ObisCode.parse("1-0:1.8.0.255")])
        profile = await session.read_profile(ObisCode.parse("1-0:99.1.0.255"), start, end)
    store(link.meter_id, session.invocation_counter)  # the next counter to use with the meter's keys

No gurux type leaves this package: values are hes.connectivity.dlms.values types, errors are
hes.connectivity.dlms.errors types.
"""

from hes.connectivity.dlms.client import DlmsClient
from hes.connectivity.dlms.errors import (
    ActionError,
    AssociationRejected,
    AuthenticationFailed,
    CipheringError,
    ConfirmedServiceError,
    ConnectionLost,
    DataAccessError,
    DlmsError,
    DlmsTimeout,
    ExceptionResponse,
    FramingError,
    LimitExceeded,
    LocalDlmsError,
    LocalProtocolError,
    MalformedAnswer,
    MeterUnreachable,
    RemoteDlmsError,
    UnknownObject,
)
from hes.connectivity.dlms.exchange import DONE, NEED_DATA, Exchange, Progress, Send
from hes.connectivity.dlms.frame_counter import FRAME_COUNTER, read_frame_counter
from hes.connectivity.dlms.limits import ClientLimits
from hes.connectivity.dlms.link import DEFAULT_PORT, MANAGEMENT_CLIENT, PUBLIC_CLIENT, MeterLink
from hes.connectivity.dlms.notification import (
    DataNotification,
    InboundApdu,
    InboundFramer,
    NotificationKeys,
    decode_notification,
    peek_system_title,
)
from hes.connectivity.dlms.reads import CLOCK
from hes.connectivity.dlms.results import (
    ActionResult,
    AssociationResult,
    DataAccessResult,
    ExceptionServiceError,
    ExceptionStateError,
    SourceDiagnostic,
)
from hes.connectivity.dlms.session import DlmsSession, SessionOpening, SessionStats, Timeouts
from hes.connectivity.dlms.state import SessionState
from hes.connectivity.dlms.values import (
    BitString,
    ClockReading,
    ColumnKind,
    CosemValue,
    DataType,
    DlmsData,
    GetResult,
    ObjectReference,
    ProfileColumn,
    ProfileEntry,
    ProfileReading,
    ProfileRow,
    RegisterReading,
)

__all__ = [
    "CLOCK",
    "DEFAULT_PORT",
    "DONE",
    "FRAME_COUNTER",
    "MANAGEMENT_CLIENT",
    "NEED_DATA",
    "PUBLIC_CLIENT",
    "ActionError",
    "ActionResult",
    "AssociationRejected",
    "AssociationResult",
    "AuthenticationFailed",
    "BitString",
    "CipheringError",
    "ClientLimits",
    "ClockReading",
    "ColumnKind",
    "ConfirmedServiceError",
    "ConnectionLost",
    "CosemValue",
    "DataAccessError",
    "DataAccessResult",
    "DataNotification",
    "DataType",
    "DlmsClient",
    "DlmsData",
    "DlmsError",
    "DlmsSession",
    "DlmsTimeout",
    "ExceptionResponse",
    "ExceptionServiceError",
    "ExceptionStateError",
    "Exchange",
    "FramingError",
    "GetResult",
    "InboundApdu",
    "InboundFramer",
    "LimitExceeded",
    "LocalDlmsError",
    "LocalProtocolError",
    "MalformedAnswer",
    "MeterLink",
    "MeterUnreachable",
    "NotificationKeys",
    "ObjectReference",
    "ProfileColumn",
    "ProfileEntry",
    "ProfileReading",
    "ProfileRow",
    "Progress",
    "RegisterReading",
    "RemoteDlmsError",
    "Send",
    "SessionOpening",
    "SessionState",
    "SessionStats",
    "SourceDiagnostic",
    "Timeouts",
    "UnknownObject",
    "decode_notification",
    "peek_system_title",
    "read_frame_counter",
]
