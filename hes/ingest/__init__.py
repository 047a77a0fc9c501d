"""The one path every reading and meter event takes into HES Core (see DESIGN.md, "How a reading travels").

Re-exported here: the seam's record types and errors, which store modules import too. The Ingestor
(`hes.ingest.ingestor`) and the intake of device-named data (`hes.ingest.intake`) import the store, so they
are imported from their modules, never from this package (that would be an import cycle).
"""

from hes.ingest.errors import IngestClosed, IngestError, IngestOverloaded, IngestUnavailable
from hes.ingest.records import (
    IncomingEvent,
    IncomingReading,
    IngestListener,
    IngestReceipt,
    MeterTouch,
    ReadingColumns,
    Rejection,
    StoredBatch,
    StoredEvent,
)

__all__ = [
    "IncomingEvent",
    "IncomingReading",
    "IngestClosed",
    "IngestError",
    "IngestListener",
    "IngestOverloaded",
    "IngestReceipt",
    "IngestUnavailable",
    "MeterTouch",
    "ReadingColumns",
    "Rejection",
    "StoredBatch",
    "StoredEvent",
]
