"""Alerts over HTTP: list and filters, acknowledge, resolve with a note, bulk acknowledge, audit, areas, CSV."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import select

from hes.db.enums import Role, Severity
from hes.db.store import users as user_store
from hes.db.store.alerts import AlertRaise, raise_alerts
from hes.db.tables import AuditEntry
from hes.runtime import Runtime
from tests.api.routes.test_events import Fleet, make_fleet
from tests.conftest import UserFactory

START = datetime(2024, 5, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Alerts:
    """The fleet, and the ids of its alerts by type."""

    fleet: Fleet
    ids: dict[str, int]


async def _raise(runtime: Runtime, *raises: AlertRaise) -> dict[str, int]:
    async with runtime.sessions() as session:
        raised = await raise_alerts(session, raises)
        await session.commit()
    return {alert.alert_type: alert.id for alert in raised}


def _alert(meter_id: int, alert_type: str, severity: Severity, hours: int, count: int = 1) -> AlertRaise:
    at = START + timedelta(hours=hours)
    return AlertRaise(meter_id, alert_type, severity, f"{alert_type} seen", count, at - timedelta(minutes=30), at)


@pytest.fixture
async def alerts(runtime: Runtime) -> Alerts:
    fleet = await make_fleet(runtime)
    m = fleet.meters
    ids = await _raise(
        runtime,
        _alert(m["M-R"], "tamper_cover", Severity.CRITICAL, 0, count=3),
        _alert(m["M-F"], "power_failure", Severity.ERROR, 1),
        _alert(m["M-S"], "communication_loss", Severity.WARNING, 2),
        _alert(m["M-R"], "over_voltage", Severity.WARNING, 3),
    )
    return Alerts(fleet, ids)


async def _types(client: AsyncClient, headers: dict[str, str], query: str = "") -> list[str]:
    answer = await client.get(f"/api/alerts?{query}", headers=headers)
    assert answer.status_code == 200, answer.text
    return [item["alertType"] for item in answer.json()["items"]]


async def _audit(runtime: Runtime) -> list[tuple[str, str | None]]:
    async with runtime.sessions() as session:
        rows = await session.scalars(select(AuditEntry).where(AuditEntry.entity == "alert").order_by(AuditEntry.id))
        return [(row.action, row.entity_id) for row in rows]


async def test_alerts_list_last_seen_first_with_their_meter(
    client: AsyncClient, viewer: dict[str, str], alerts: Alerts
) -> None:
    listing = (await client.get("/api/alerts?limit=2", headers=viewer)).json()
    assert (listing["total"], listing["limit"]) == (4, 2)
    assert [item["alertType"] for item in listing["items"]] == ["over_voltage", "communication_loss"]
    first = listing["items"][0]
    assert first == {
        "id": alerts.ids["over_voltage"],
        "meterId": alerts.fleet.meters["M-R"],
        "meterNumber": "M-R",
        "areaCode": "REGION",
        "alertType": "over_voltage",
        "severity": "warning",
        "status": "open",
        "message": "over_voltage seen",
        "occurrences": 1,
        "firstSeenAt": "2024-05-01T02:30:00Z",
        "lastSeenAt": "2024-05-01T03:00:00Z",
        "acknowledgedBy": None,
        "acknowledgedAt": None,
        "resolvedBy": None,
        "resolvedAt": None,
        "resolutionNote": None,
    }
    one = await client.get(f"/api/alerts/{alerts.ids['tamper_cover']}", headers=viewer)
    assert one.status_code == 200 and one.json()["occurrences"] == 3


async def test_filters_and_sorts(client: AsyncClient, operator: dict[str, str], alerts: Alerts) -> None:
    assert await _types(client, operator, "severity=critical&severity=error") == ["power_failure", "tamper_cover"]
    assert await _types(client, operator, "type=tamper_cover") == ["tamper_cover"]
    assert await _types(client, operator, f"meterId={alerts.fleet.meters['M-R']}") == ["over_voltage", "tamper_cover"]
    assert await _types(client, operator, "meterNumber=M-F") == ["power_failure"]
    assert await _types(client, operator, "area=REGION") == ["over_voltage", "power_failure", "tamper_cover"]
    # Seen within 01:45-02:40: communication loss (01:30-02:00) and over voltage (02:30-03:00) overlap it.
    window = {"from": "2024-05-01T01:45:00Z", "to": "2024-05-01T02:40:00Z"}
    answer = await client.get("/api/alerts", params=window, headers=operator)
    assert [item["alertType"] for item in answer.json()["items"]] == ["over_voltage", "communication_loss"]
    assert await _types(client, operator, "sort=-severity,type") == [
        "tamper_cover",
        "power_failure",
        "communication_loss",
        "over_voltage",
    ]
    assert await _types(client, operator, "sort=-occurrences&limit=1") == ["tamper_cover"]
    await client.post(f"/api/alerts/{alerts.ids['power_failure']}/acknowledge", headers=operator)
    assert await _types(client, operator, "status=acknowledged") == ["power_failure"]
    assert await _types(client, operator, "status=open&status=resolved") == [
        "over_voltage",
        "communication_loss",
        "tamper_cover",
    ]


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("status=closed", {"query.status.0"}),
        ("severity=loud&from=noon", {"query.severity.0", "query.from"}),
        ("meterId=-1", {"query.meterId"}),
        ("from=2024-05-02T00:00:00Z&to=2024-05-01T00:00:00Z", {"from"}),
        ("area=NOWHERE", {"area"}),
        ("sort=priority", {"sort"}),
    ],
)
async def test_malformed_filters_are_refused(
    client: AsyncClient, viewer: dict[str, str], alerts: Alerts, query: str, fields: set[str]
) -> None:
    for path in ("/api/alerts", "/api/alerts.csv"):
        answer = await client.get(f"{path}?{query}", headers=viewer)
        assert answer.status_code == 422, (path, answer.text)
        assert {problem["field"] for problem in answer.json()["error"]["details"]} == fields


async def test_acknowledge_once_then_it_is_a_no_op(
    client: AsyncClient, login_as: UserFactory, runtime: Runtime, alerts: Alerts
) -> None:
    operator = await login_as(Role.OPERATOR, username="olga")
    alert_id = alerts.ids["tamper_cover"]
    first = await client.post(f"/api/alerts/{alert_id}/acknowledge", headers=operator)
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["status"], body["acknowledgedBy"]) == ("acknowledged", "olga")
    again = await client.post(f"/api/alerts/{alert_id}/acknowledge", headers=operator)
    assert again.status_code == 200 and again.json()["acknowledgedAt"] == body["acknowledgedAt"]
    assert await _audit(runtime) == [("acknowledge", str(alert_id))]


async def test_resolve_needs_a_note_and_closes_the_alert_for_good(
    client: AsyncClient, operator: dict[str, str], runtime: Runtime, alerts: Alerts
) -> None:
    alert_id = alerts.ids["power_failure"]
    path = f"/api/alerts/{alert_id}/resolve"
    for body, field in (
        (None, "body"),
        ({}, "body.note"),
        ({"note": ""}, "body.note"),
        ({"note": "   "}, "body.note"),
        ({"note": "x" * 2001}, "body.note"),
        ({"note": "ok", "notes": "typo"}, "body.notes"),
    ):
        refused = await client.post(path, json=body, headers=operator)
        assert refused.status_code == 422, (body, refused.text)
        assert field in {problem["field"] for problem in refused.json()["error"]["details"]}

    resolved = await client.post(path, json={"note": " Feeder fuse replaced. "}, headers=operator)
    assert resolved.status_code == 200, resolved.text
    assert (resolved.json()["status"], resolved.json()["resolutionNote"]) == ("resolved", "Feeder fuse replaced.")
    assert resolved.json()["resolvedAt"] is not None
    twice = await client.post(path, json={"note": "again"}, headers=operator)
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "conflict"
    acknowledge = await client.post(f"/api/alerts/{alert_id}/acknowledge", headers=operator)
    assert acknowledge.status_code == 409
    assert await _audit(runtime) == [("resolve", str(alert_id))]

    # The next failure of that meter opens a new alert beside the resolved one.
    reopened = await _raise(runtime, _alert(alerts.fleet.meters["M-F"], "power_failure", Severity.ERROR, 5))
    assert reopened["power_failure"] != alert_id
    assert await _types(client, operator, "type=power_failure") == ["power_failure", "power_failure"]


async def test_bulk_acknowledge_reports_every_id(
    client: AsyncClient, login_as: UserFactory, runtime: Runtime, alerts: Alerts
) -> None:
    limited = await login_as(Role.OPERATOR, username="region-only")
    async with runtime.sessions() as session:
        user = await user_store.by_username(session, "region-only")
        assert user is not None
        await user_store.set_area_ids(session, user.id, [alerts.fleet.region])  # and so its feeder
        await session.commit()
    ids = alerts.ids
    admin = await login_as(Role.ADMIN)
    await client.post(f"/api/alerts/{ids['over_voltage']}/acknowledge", headers=admin)
    await client.post(f"/api/alerts/{ids['power_failure']}/resolve", json={"note": "done"}, headers=admin)

    body = {"ids": [ids["tamper_cover"], 999_999, ids["over_voltage"], ids["tamper_cover"], ids["power_failure"]]}
    body["ids"].append(ids["communication_loss"])
    answer = await client.post("/api/alerts/acknowledge", json=body, headers=limited)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "acknowledged": [ids["tamper_cover"]],
        "alreadyAcknowledged": [ids["over_voltage"]],
        "alreadyResolved": [ids["power_failure"]],
        "notFound": [999_999],
        "notAllowed": [ids["communication_loss"]],
    }
    everywhere = await client.post("/api/alerts/acknowledge", json={"ids": [ids["power_failure"]]}, headers=admin)
    assert everywhere.json()["alreadyResolved"] == [ids["power_failure"]]
    actions = await _audit(runtime)
    assert actions.count(("acknowledge", str(ids["tamper_cover"]))) == 1 and len(actions) == 3


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"ids": ["x", 0, -1, 5, 2**63]}, {"body.ids.0", "body.ids.1", "body.ids.2", "body.ids.4"}),
        ({"ids": []}, {"body.ids"}),
        ({"ids": list(range(1, 502))}, {"body.ids"}),
        ({"ids": "1,2"}, {"body.ids"}),
        ({}, {"body.ids"}),
        (None, {"body"}),
    ],
)
async def test_bulk_acknowledge_refuses_bad_ids_listing_them(
    client: AsyncClient, operator: dict[str, str], runtime: Runtime, alerts: Alerts, body: Any, fields: set[str]
) -> None:
    answer = await client.post("/api/alerts/acknowledge", json=body, headers=operator)
    assert answer.status_code == 422, answer.text
    assert {problem["field"] for problem in answer.json()["error"]["details"]} == fields
    assert await _audit(runtime) == []


async def test_area_limited_staff_see_and_change_only_their_areas(
    client: AsyncClient, login_as: UserFactory, runtime: Runtime, alerts: Alerts
) -> None:
    south = await login_as(Role.OPERATOR, username="south-operator")
    async with runtime.sessions() as session:
        user = await user_store.by_username(session, "south-operator")
        assert user is not None
        await user_store.set_area_ids(session, user.id, [alerts.fleet.south])
        await session.commit()
    assert await _types(client, south) == ["communication_loss"]
    hidden = alerts.ids["tamper_cover"]
    assert (await client.get(f"/api/alerts/{hidden}", headers=south)).status_code == 404
    assert (await client.post(f"/api/alerts/{hidden}/acknowledge", headers=south)).status_code == 404
    assert (await client.post(f"/api/alerts/{hidden}/resolve", json={"note": "x"}, headers=south)).status_code == 404


async def test_roles_viewers_read_operators_change_customers_stay_out(
    client: AsyncClient, viewer: dict[str, str], login_as: UserFactory, alerts: Alerts
) -> None:
    alert_id = alerts.ids["tamper_cover"]
    assert (await client.get("/api/alerts", headers=viewer)).status_code == 200
    assert (await client.post(f"/api/alerts/{alert_id}/acknowledge", headers=viewer)).status_code == 403
    assert (await client.post(f"/api/alerts/{alert_id}/resolve", json={"note": "x"}, headers=viewer)).status_code == 403
    assert (await client.post("/api/alerts/acknowledge", json={"ids": [alert_id]}, headers=viewer)).status_code == 403
    customer = await login_as(Role.CUSTOMER, customer_id=alerts.fleet.customers["ADA"])
    assert (await client.get("/api/alerts", headers=customer)).status_code == 403
    assert (await client.get("/api/alerts")).status_code == 401


async def test_unknown_alerts_are_not_found(client: AsyncClient, operator: dict[str, str], alerts: Alerts) -> None:
    for method, path, body in (
        ("GET", "/api/alerts/999999", None),
        ("POST", "/api/alerts/999999/acknowledge", None),
        ("POST", "/api/alerts/999999/resolve", {"note": "gone"}),
    ):
        answer = await client.request(method, path, json=body, headers=operator)
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found", path
    assert (await client.post("/api/alerts/abc/acknowledge", headers=operator)).status_code == 422


async def test_csv_download_of_the_filtered_alerts(client: AsyncClient, viewer: dict[str, str], alerts: Alerts) -> None:
    answer = await client.get("/api/alerts.csv?area=REGION&sort=firstSeenAt", headers=viewer)
    assert answer.status_code == 200
    assert answer.headers["content-disposition"].startswith('attachment; filename="alerts-')
    rows = list(csv.DictReader(io.StringIO(answer.text.removeprefix("\ufeff"))))
    assert [(row["alertType"], row["meterNumber"], row["occurrences"], row["status"]) for row in rows] == [
        ("tamper_cover", "M-R", "3", "open"),
        ("power_failure", "M-F", "1", "open"),
        ("over_voltage", "M-R", "1", "open"),
    ]
    assert rows[0]["lastSeenAt"] == "2024-05-01T00:00:00Z" and rows[0]["resolvedAt"] == ""
