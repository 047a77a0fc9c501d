"""A fleet meter's physics from its spec alone: customer class, size, PV, phases, installation and anchor.

Every meter of a fleet gets a `MeterModel` (hes.simulator.physics) that follows from its MeterSpec (seed and
index), so a restarted simulator simulates the same meters; and `History`, how far back a meter's profiles reach,
which the model must cover exactly. Both are re-exported by hes.simulator.live_state, which serves them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hes.simulator.fleet import MeterSpec
from hes.simulator.physics import MeterModel, ProfileClass

__all__ = ["FLEET_INSTALLED", "History", "model_for"]

_DAY = timedelta(days=1)
_WEEK = timedelta(weeks=1)
# Whole weeks before the anchor whose registers are exact (rolled backwards when read): 49 days reach the deepest
# served day (the daily billing's 40 days and the day under way) from an anchor up to 6 days back.
_EXACT_WEEKS = 7


@dataclass(frozen=True, slots=True)
class History:
    """How far back each profile reaches, as a real meter's buffers do; older entries have rolled out."""

    load_profile: timedelta = timedelta(days=35)  # a month of 15-minute values and a margin, so a HES can catch up
    daily_billing: timedelta = timedelta(days=40)
    monthly_billing: int = 13  # billing periods: a year and the month before it
    events: timedelta = timedelta(days=90)


# Every fleet meter was installed on a fixed date (plus a seed-derived spread), not relative to when the simulator
# started: its registers at a given time are then the same in every run, so a HES never sees them jump back after
# a restart. Rolling registers forward from installation would cost ~0.17-0.45 ms per day since then (~45 ms per
# meter in late 2026, growing), so the model is anchored (MeterModel `anchor`) at 00:00 UTC on the Monday of the
# current week (`_anchor`): registers there are a seed-derived estimate growing at a daily cap. A present reading
# rolls forwards only the days of this week so far (at most 6: the first register read of a meter costs ~1 ms,
# not the 5-10 ms of the 26-70 days of a month anchor). History is rolled backwards from the anchor (`exact_from`,
# seven weeks before it, so before the deepest served day), only when a client reads it: every served span is
# exact with the load profile. A restart in the same week finds the same anchor and the same values; one in a
# later week takes a later anchor whose estimate exceeds the exact values the earlier run rolled to, so registers
# jump forward then, never back: the cap (meter_setup.daily_caps) is 1.5 times the busiest season's mean day, and
# a week's mean would have to exceed it (for a household, a day-to-day spread of 12 %: about nine standard
# deviations of a seven-day mean; export, reactive and apparent caps are hard bounds).
FLEET_INSTALLED = datetime(2026, 1, 1, tzinfo=UTC)
_INSTALL_SPREAD_DAYS = 90


@dataclass(frozen=True, slots=True)
class _Customer:
    """A customer class's share of the fleet, its range of mean daily consumption and its share with PV."""

    share: float
    kwh_per_day: tuple[float, float]
    pv_share: float


# Mostly households, some shops and offices, a few small industries (habit 10: a table, not branches).
_CUSTOMERS: dict[ProfileClass, _Customer] = {
    ProfileClass.RESIDENTIAL: _Customer(0.85, (3.0, 18.0), 0.12),
    ProfileClass.COMMERCIAL: _Customer(0.12, (20.0, 150.0), 0.08),
    ProfileClass.INDUSTRIAL: _Customer(0.03, (300.0, 2000.0), 0.0),
}


def _unit(spec: MeterSpec, purpose: str) -> float:
    """A number in [0, 1) fixed by the meter's seed, index and `purpose`."""
    digest = hashlib.blake2b(f"{spec.seed}:{spec.index}:{purpose}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _customer_class(draw: float) -> ProfileClass:
    for kind, customer in _CUSTOMERS.items():
        if draw < customer.share:
            return kind
        draw -= customer.share
    return ProfileClass.RESIDENTIAL


def model_for(spec: MeterSpec, now: datetime | None = None) -> MeterModel:
    """The physics of a fleet meter, from its spec alone: customer class, size, PV, phases and installation.

    Args:
        spec: the meter.
        now: the present; it sets the model's anchor, the Monday of its week (registers are exact from seven
            weeks before it; None: from installation). Only when it is too close to the fleet's installation
            date for the meter to have the load profile history it serves is the installation moved back.
    """
    kind = _customer_class(_unit(spec, "class"))
    customer = _CUSTOMERS[kind]
    low, high = customer.kwh_per_day
    scale = low * (high / low) ** _unit(spec, "scale")  # log-uniform: many small customers, a few large ones
    installed = FLEET_INSTALLED + timedelta(days=int(_unit(spec, "installed") * _INSTALL_SPREAD_DAYS))
    if now is not None and installed > now - History().load_profile:
        installed = _midnight(now) - History().load_profile - timedelta(days=_INSTALL_SPREAD_DAYS)
    anchor = _anchor(now) if now is not None else None
    exact_from = _exact_from(anchor) if anchor is not None else None
    three_phase = spec.brand_info.meter_type == "three-phase" or kind is ProfileClass.INDUSTRIAL
    return MeterModel(
        spec.meter_number,
        kind,
        spec.seed,
        3 if three_phase else 1,
        round(scale, 3),
        installed,
        reverse_flow=_unit(spec, "pv") < customer.pv_share,
        anchor=anchor,
        exact_from=exact_from,
    )


def _anchor(now: datetime) -> datetime:
    """00:00 UTC on the Monday of the current week: registers there are the estimate, exact from there on."""
    today = _midnight(now)
    return today - today.weekday() * _DAY


def _exact_from(anchor: datetime) -> datetime:
    """Whole weeks before the anchor, reaching back before the deepest served day."""
    return anchor - _EXACT_WEEKS * _WEEK


def _midnight(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
