"""The long-running services of one HES process, started after its Runtime and stopped before it closes.

Meter connectivity (DLMS sessions, polling, the dial-in/push port), the MQTT channel, real-time fan-out, alert
rules, consumption rollups and the periodic jobs (run once across instances) all meet at the one ingest path
(`runtime.ingestor`); this module only puts them together, in order.
"""

from __future__ import annotations

import logging
from datetime import time, timedelta

import socketio  # type: ignore[import-untyped]

from hes.config import Settings
from hes.connectivity.dial_in import DialInServer, DialInSettings
from hes.connectivity.mqtt import IngestorSink, MqttChannel, MqttSettings
from hes.connectivity.push_receiver import PushReceiver
from hes.connectivity.service import Connectivity
from hes.db.enums import ConnectionMode
from hes.jobs import Job, JobContext, Scheduler, standard_jobs
from hes.realtime import start_realtime, stop_realtime
from hes.realtime.hub import RealtimeHub
from hes.runtime import Runtime
from hes.services import alerts
from hes.services.alert_catalogue import RuleLimits
from hes.services.alert_rules import AlertRules
from hes.services.consumption_rollup import ConsumptionRollups
from hes.services.meter_status import MeterStatusMonitor, StatusDefaults
from hes.services.retention import RetentionPolicy

logger = logging.getLogger(__name__)

ALERT_CLEANUP_AT = time(2, 45)  # after retention (02:30 by default), off-peak


class BackgroundServices:
    """Meter connectivity (sessions, polling, dial-in, push), MQTT, Socket.IO hub, alert rules, rollups, jobs."""

    def __init__(self, runtime: Runtime, server: socketio.AsyncServer) -> None:
        self.runtime = runtime
        self.server = server
        self.connectivity = Connectivity.from_runtime(runtime)
        receiver = PushReceiver(
            runtime.sessions, runtime.ingestor, runtime.secret_box, cache_seconds=runtime.settings.meter_cache_seconds
        )
        self.inbound = DialInServer(
            DialInSettings.from_settings(runtime.settings, self.connectivity.settings.timeouts), receiver
        )
        self.connectivity.dial_in = self.inbound.registry
        jobs = [*self._jobs(runtime.settings), *self.connectivity.periodic_jobs()]
        self.scheduler = Scheduler(runtime.engine, runtime.sessions, runtime.settings, jobs)
        self.hub: RealtimeHub | None = None
        self.rules: AlertRules | None = None
        self.rollups: ConsumptionRollups | None = None
        self.status: MeterStatusMonitor | None = None
        self.mqtt: MqttChannel | None = None

    async def start(self) -> None:
        """Start in dependency order: the hub first, so nothing stored afterwards goes unannounced."""
        runtime, ingestor = self.runtime, self.runtime.ingestor
        self.hub = await start_realtime(self.server, runtime)
        ingestor.subscribe(self.hub)
        self.rules = AlertRules(runtime.sessions, self.hub, rule_limits(runtime.settings))
        ingestor.subscribe(self.rules)
        self.rollups = ConsumptionRollups(runtime.sessions)
        ingestor.subscribe(self.rollups)
        self.rollups.start()
        self.status = MeterStatusMonitor(
            runtime.sessions, status_defaults(runtime.settings), on_changes=self.hub.status_changed
        )
        await self.connectivity.start()
        await self.inbound.start()
        if runtime.settings.jobs_enabled:
            await self.scheduler.start()
        self.mqtt = _mqtt_channel(runtime)
        if self.mqtt is not None:
            await self.mqtt.start()

    async def stop(self) -> None:
        """Stop in reverse order; the ingest path itself is drained by `Runtime.close()` afterwards."""
        if self.mqtt is not None:
            await self.mqtt.stop()
        await self.scheduler.stop()
        await self.inbound.close()
        await self.connectivity.stop()
        if self.rollups is not None:
            await self.runtime.ingestor.close()  # drain first, so the last batches are rolled up too
            await self.rollups.close()
            self.runtime.ingestor.unsubscribe(self.rollups)
        if self.rules is not None:
            self.runtime.ingestor.unsubscribe(self.rules)
        if self.hub is not None:
            self.runtime.ingestor.unsubscribe(self.hub)
            await stop_realtime(self.hub)

    def _jobs(self, settings: Settings) -> list[Job]:
        policy = RetentionPolicy(
            readings_days=settings.readings_retention_days,
            events_days=settings.events_retention_days,
            read_attempts_days=settings.read_attempts_retention_days,
        )
        return [
            *standard_jobs(policy, settings.retention_at),
            Job("meter-status", self._check_status, timedelta(seconds=settings.status_check_interval_s)),
            Job("alert-cleanup", _clean_up_alerts, timedelta(days=1), ALERT_CLEANUP_AT),
            Job("zero-consumption", self._check_zero_consumption, timedelta(hours=1)),
        ]

    async def _check_status(self, context: JobContext) -> None:
        if self.status is None or self.rules is None:
            return  # not started yet
        changes = await self.status.run_once()
        lost = [change.lost_event for change in changes if change.lost_event is not None]
        if lost:
            await self.rules.events_stored(lost)

    async def _check_zero_consumption(self, context: JobContext) -> None:
        if self.rules is not None:
            await self.rules.check_zero_consumption(now=context.slot)


async def _clean_up_alerts(context: JobContext) -> None:
    async with context.sessions() as session:
        await alerts.delete_resolved_alerts_older_than(session, context.settings.alert_retention_days)


def rule_limits(settings: Settings) -> RuleLimits:
    """The alert rules' thresholds from settings."""
    return RuleLimits(
        nominal_voltage=settings.nominal_voltage,
        voltage_tolerance_percent=settings.voltage_tolerance_percent,
        reverse_power_w=settings.reverse_power_threshold_w,
        zero_consumption_hours=settings.zero_consumption_hours,
    )


def status_defaults(settings: Settings) -> StatusDefaults:
    """When a meter counts as offline, per connection mode, from settings."""
    return StatusDefaults(
        intervals_s={
            ConnectionMode.OUTBOUND: settings.expected_interval_outbound_s,
            ConnectionMode.DIAL_IN: settings.expected_interval_dial_in_s,
            ConnectionMode.PUSH: settings.expected_interval_push_s,
            ConnectionMode.MQTT: settings.expected_interval_mqtt_s,
            ConnectionMode.HTTP: settings.expected_interval_http_s,
        },
        missed_intervals=settings.offline_after_intervals,
        grace_s=settings.offline_grace_s,
    )


def _mqtt_channel(runtime: Runtime) -> MqttChannel | None:
    settings = runtime.settings
    if not settings.mqtt_url:
        return None
    mqtt_settings = MqttSettings.from_url(
        settings.mqtt_url,
        client_id=settings.mqtt_client_id,
        share_group=settings.mqtt_share_group,
        session_expiry_s=settings.mqtt_session_expiry_seconds,
        receive_maximum=settings.mqtt_receive_maximum,
    )
    return MqttChannel(mqtt_settings, IngestorSink(runtime.ingestor, runtime.sessions))
