"""Why a submission to the ingest path was not stored: the senders should retry, nothing was written."""

from __future__ import annotations

from hes.errors import HESError


class IngestError(HESError):
    """Base of the ingest path's own failures; `retry_after` is how many seconds a sender should wait."""

    retry_after: int = 1


class IngestOverloaded(IngestError):
    """The queue of readings waiting for the database is full: the sender must slow down and retry."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("ingest is at capacity; retry shortly", code="overloaded")
        self.retry_after = retry_after


class IngestUnavailable(IngestError):
    """The batch holding this submission could not be written (database unreachable, timeout): nothing stored."""

    def __init__(self, message: str = "the database is unavailable; retry shortly", retry_after: int = 1) -> None:
        super().__init__(message, code="database_unavailable")
        self.retry_after = retry_after


class IngestClosed(IngestUnavailable):
    """The ingestor is shutting down and takes no more submissions."""

    def __init__(self) -> None:
        super().__init__("HES Core is shutting down; retry shortly", retry_after=5)
