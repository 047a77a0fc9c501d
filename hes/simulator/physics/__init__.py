"""Physics of simulated meters: believable, deterministic consumption, registers, voltages and events.

Pure Python with no I/O: a `MeterModel` answers for any time from its seed, so a fleet starts instantly
and can replay history. The COSEM object model turns these plain values into DLMS data.
"""

from hes.simulator.physics.events import EVENT_LOG_OBIS, EventCode, EventLog, MeterEvent, TamperFlag
from hes.simulator.physics.meter_model import MeterModel
from hes.simulator.physics.profiles import DEFAULT_TOU, ProfileClass, TouTable
from hes.simulator.physics.records import EnergyRegisters, InstantaneousValues, IntervalRecord, RegisterSnapshot
from hes.simulator.physics.scenarios import (
    NO_DISTURBANCES,
    Bypass,
    DisturbanceRates,
    Outage,
    Scenario,
    StuckRegister,
    Tamper,
    TamperKind,
    Theft,
    VoltageEpisode,
    VoltageKind,
)
from hes.simulator.physics.timeline import INTERVAL

__all__ = [
    "DEFAULT_TOU",
    "EVENT_LOG_OBIS",
    "INTERVAL",
    "NO_DISTURBANCES",
    "Bypass",
    "DisturbanceRates",
    "EnergyRegisters",
    "EventCode",
    "EventLog",
    "InstantaneousValues",
    "IntervalRecord",
    "MeterEvent",
    "MeterModel",
    "Outage",
    "ProfileClass",
    "RegisterSnapshot",
    "Scenario",
    "StuckRegister",
    "Tamper",
    "TamperFlag",
    "TamperKind",
    "Theft",
    "TouTable",
    "VoltageEpisode",
    "VoltageKind",
]
