"""The connectivity part of the process settings: session limits, timeouts, retries, polling and gap detection."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from hes.config import Settings
from hes.connectivity.dlms import DEFAULT_PORT, Timeouts
from hes.connectivity.polling_groups import PollingGroup, parse_polling_groups

__all__ = ["ConnectivitySettings"]

_SYSTEM_TITLE_OCTETS = 8  # IEC 62056-5-3 4.3.4


@dataclass(frozen=True)
class ConnectivitySettings:
    """How HES Core talks to its meters (from `Settings`; the defaults are OSGP's where it has one).

    Attributes:
        max_sessions: DLMS sessions open at once, all meters together (OSGP: 1,000).
        max_sessions_per_target: sessions open at once to one host:port (a gateway or concentrator port).
        connections_per_second, connection_burst: new TCP connections to meters: a token bucket refilled at this
            rate holding at most `burst` tokens (OSGP: 30 a second).
        connect_timeout, response_timeout, release_timeout: seconds (hes.connectivity.dlms.Timeouts).
        retries: new attempts after a link failure (timeout, unreachable, connection lost) of a collection.
        backoff, backoff_max, backoff_jitter: the first retry waits `backoff` seconds, each next one twice as
            long up to `backoff_max`, times a random factor in [1 - jitter, 1 + jitter].
        max_queued_jobs: jobs waiting in the queue at most; past it polling skips meters.
        read_timeout: how long an on-demand read waits for its meter before answering 504.
        clock_drift: a meter clock further off than this (seconds) logs a clock_drift event.
        gap_days: load-profile gap detection looks this many days back.
        gap_max_intervals: intervals re-collected per meter per gap run at most (2 days of 15-minute values).
        poll_tick: seconds between polling ticks (each enqueues the meters due in the next tick).
        polling_groups: schedules per meter group (hes.connectivity.polling_groups).
        client_system_title: the HES's 8-octet system title for ciphered sessions.
        default_port: where an outbound meter listens when its record gives none.
        record_interval, record_batch: attempt outcomes and communication events are written every
            `record_interval` seconds or every `record_batch` outcomes, whichever comes first.
    """

    max_sessions: int = 1_000
    max_sessions_per_target: int = 4
    connections_per_second: float = 30.0
    connection_burst: int = 30
    connect_timeout: float = 10.0
    response_timeout: float = 30.0
    release_timeout: float = 5.0
    retries: int = 2
    backoff: float = 10.0
    backoff_max: float = 600.0
    backoff_jitter: float = 0.5
    max_queued_jobs: int = 2_000_000
    read_timeout: float = 60.0
    on_demand_retries: int = 0
    clock_drift: float = 60.0
    gap_days: int = 7
    gap_max_intervals: int = 192
    poll_tick: float = 60.0
    polling_groups: tuple[PollingGroup, ...] = field(default_factory=lambda: parse_polling_groups(None))
    client_system_title: bytes = b"HES00001"
    default_port: int = DEFAULT_PORT
    record_interval: float = 1.0
    record_batch: int = 1_000

    def __post_init__(self) -> None:
        problems = []
        if self.max_sessions < 1 or self.max_sessions_per_target < 1:
            problems.append("session limits are at least 1")
        if self.connections_per_second <= 0 or self.connection_burst < 1:
            problems.append("the connection rate is positive and its burst at least 1")
        if min(self.connect_timeout, self.response_timeout, self.release_timeout, self.read_timeout) <= 0:
            problems.append("timeouts are positive seconds")
        if self.retries < 0 or self.on_demand_retries < 0 or self.backoff <= 0 or self.backoff_max < self.backoff:
            problems.append("retries are 0 or more, the back-off positive and at most its maximum")
        if not 0 <= self.backoff_jitter < 1:
            problems.append("the back-off jitter is a share from 0 to below 1")
        if self.gap_days < 1 or self.gap_max_intervals < 1 or self.poll_tick <= 0:
            problems.append("gap days, gap intervals and the polling tick are positive")
        if len(self.client_system_title) != _SYSTEM_TITLE_OCTETS:
            problems.append(f"the client system title is {_SYSTEM_TITLE_OCTETS} octets")
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def timeouts(self) -> Timeouts:
        """The DLMS session timeouts."""
        return Timeouts(self.connect_timeout, self.response_timeout, self.release_timeout)

    @property
    def gap_window(self) -> timedelta:
        """How far back load-profile gaps are looked for (and the longest catch-up of one collection)."""
        return timedelta(days=self.gap_days)

    @classmethod
    def from_settings(cls, settings: Settings) -> ConnectivitySettings:
        """The connectivity part of `settings`.

        Raises:
            ValueError: a value out of range, HES_POLL_SCHEDULES malformed.
        """
        return cls(
            max_sessions=settings.dlms_max_sessions,
            max_sessions_per_target=settings.dlms_max_sessions_per_target,
            connections_per_second=settings.dlms_connections_per_second,
            connection_burst=settings.dlms_connection_burst,
            connect_timeout=settings.dlms_connect_timeout_seconds,
            response_timeout=settings.dlms_response_timeout_seconds,
            release_timeout=settings.dlms_release_timeout_seconds,
            retries=settings.dlms_retries,
            backoff=settings.dlms_backoff_seconds,
            backoff_max=settings.dlms_backoff_max_seconds,
            read_timeout=settings.dlms_read_timeout_seconds,
            clock_drift=settings.dlms_clock_drift_seconds,
            gap_days=settings.profile_gap_days,
            gap_max_intervals=settings.profile_gap_max_intervals,
            poll_tick=settings.poll_tick_seconds,
            polling_groups=parse_polling_groups(settings.poll_schedules),
            client_system_title=bytes.fromhex(settings.dlms_client_system_title),
        )
