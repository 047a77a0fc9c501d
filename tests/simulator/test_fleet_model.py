"""A fleet meter's physics from its spec: the same meter after a restart, a varied fleet, exact served history."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from hes.simulator.fleet import MeterSpec, fleet_from_options
from hes.simulator.fleet_model import FLEET_INSTALLED, History, model_for
from hes.simulator.physics import ProfileClass, RegisterSnapshot, ledger
from hes.simulator.physics.conditions import DayConditions
from hes.simulator.physics.ledger import DayLedger, MeterConstants

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def _midnight(at: datetime) -> datetime:
    return at.replace(hour=0, minute=0, second=0, microsecond=0)


def _totals(snapshot: RegisterSnapshot) -> tuple[int, ...]:
    return (
        snapshot.active_import_wh,
        snapshot.active_export_wh,
        snapshot.reactive_import_varh,
        snapshot.reactive_export_varh,
        snapshot.apparent_import_vah,
        snapshot.apparent_export_vah,
        *snapshot.active_import_by_rate_wh,
        *snapshot.active_export_by_rate_wh,
    )


def _spec(brand: str, index: int = 1) -> MeterSpec:
    return fleet_from_options(index + 1, brand=brand, base_port=0).meters[index]


def test_models_follow_from_the_spec_and_vary_across_the_fleet() -> None:
    specs: Sequence[MeterSpec] = fleet_from_options(400, brand="hexing", base_port=0).meters
    models = [model_for(spec) for spec in specs]
    again = model_for(specs[5])
    assert (again.profile_class, again.scale_kwh_per_day, again.start, again.reverse_flow) == (
        models[5].profile_class,
        models[5].scale_kwh_per_day,
        models[5].start,
        models[5].reverse_flow,
    )
    assert again.registers(NOW) == models[5].registers(NOW)  # the same registers after a restart
    classes = [model.profile_class for model in models]
    assert classes.count(ProfileClass.RESIDENTIAL) > 300
    assert 10 <= classes.count(ProfileClass.COMMERCIAL) <= 90 and classes.count(ProfileClass.INDUSTRIAL) >= 1
    assert 10 <= sum(model.reverse_flow for model in models) <= 80
    assert all(FLEET_INSTALLED <= model.start <= FLEET_INSTALLED + 90 * DAY for model in models)
    assert all(model.phases == (3 if model.profile_class is ProfileClass.INDUSTRIAL else 1) for model in models)


@pytest.mark.parametrize(
    "late",
    [
        datetime(2026, 11, 27, 5, 30, tzinfo=UTC),  # a Friday: the week's days rolled forwards
        datetime(2026, 12, 2, 5, 30, tzinfo=UTC),  # a Wednesday: the served history crosses a month
        datetime(2027, 3, 1, 0, 15, tzinfo=UTC),  # a Monday just after the anchor, February behind it
    ],
    ids=str,
)
def test_a_fleet_meter_is_exact_over_its_served_history_and_restarts_never_read_lower(late: datetime) -> None:
    spec = _spec("hexing", 3)
    model = model_for(spec, late)
    served = late - max(History().load_profile, History().daily_billing)
    days = (late - served).days

    # Exact over the whole served history: the registers advance by the load profile's energy.
    total = sum(record.active_import_wh for record in model.intervals(served, late))
    assert model.registers(late).active_import_wh - model.registers(served).active_import_wh == total
    assert days > 0 and model_for(spec, late + DAY).registers(late) == model.registers(late), "same week, same run"


def test_a_restart_in_a_later_week_never_reads_a_register_lower() -> None:
    # Households, shops, industries, with and without PV: each restarted a week and 40 days on reads no register
    # lower than the run that kept rolling from the earlier anchor (a week's energy stays under the daily caps).
    late = datetime(2026, 11, 27, 5, 30, tzinfo=UTC)
    for spec in fleet_from_options(40, brand="idis", base_port=0).meters:
        running = model_for(spec, late)
        for later in (late + 7 * DAY, late + 40 * DAY):
            kept, fresh = running.registers(later), model_for(spec, later).registers(later)
            assert all(a <= b for a, b in zip(_totals(kept), _totals(fresh), strict=True)), (spec.index, later)


def test_a_present_reading_rolls_only_the_days_of_the_current_week(monkeypatch: pytest.MonkeyPatch) -> None:
    computed: list[datetime] = []
    original = ledger.compute_day

    def counting(meter: MeterConstants, day: int, conditions: DayConditions) -> DayLedger:
        computed.append(datetime.fromtimestamp(day * 86_400, UTC))
        return original(meter, day, conditions)

    monkeypatch.setattr("hes.simulator.physics.meter_model.compute_day", counting)
    now = datetime(2026, 11, 27, 5, 30, tzinfo=UTC)  # a Friday
    model_for(_spec("hexing", 4), now).registers(now)
    assert computed and min(computed) == datetime(2026, 11, 23, tzinfo=UTC) and max(computed) == _midnight(now)
    assert len(set(computed)) == 5  # Monday to Friday, not the 50-70 days back to before the served history
