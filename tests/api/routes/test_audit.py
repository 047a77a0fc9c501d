"""The audit log over HTTP: newest first, filters, pagination, administrators only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from httpx import AsyncClient

from hes.db.store import audit
from hes.db.tables import AuditEntry
from hes.runtime import Runtime


async def _write(runtime: Runtime, *rows: tuple[str, str, str, datetime]) -> None:
    async with runtime.sessions() as session:
        for actor, action, entity, at in rows:
            session.add(AuditEntry(actor=actor, action=action, entity=entity, entity_id="7", at=at))
        await session.commit()


async def test_admin_reads_changes_newest_first(client: AsyncClient, admin: dict[str, str]) -> None:
    await client.post("/api/areas", json={"code": "A1", "name": "First"}, headers=admin)
    await client.post("/api/areas", json={"code": "A2", "name": "Second"}, headers=admin)
    answer = await client.get("/api/audit?entity=area", headers=admin)
    assert answer.status_code == 200
    listing = answer.json()
    assert listing["total"] == 2 and listing["page"] == 1 and listing["limit"] == 50
    assert [row["details"]["code"] for row in listing["items"]] == ["A2", "A1"]
    row = listing["items"][0]
    assert set(row) == {"id", "at", "actor", "action", "entity", "entityId", "details"}
    assert row["action"] == "create" and row["actor"].startswith("admin-")
    assert datetime.fromisoformat(row["at"]).utcoffset() == timedelta(0)


async def test_filters_and_pagination(client: AsyncClient, admin: dict[str, str], runtime: Runtime) -> None:
    now = datetime.now(UTC)
    await _write(
        runtime,
        ("alice", "create", "meter", now - timedelta(days=3)),
        ("alice", "update", "meter", now - timedelta(days=2)),
        ("bob", "delete", "customer", now - timedelta(days=1)),
    )

    alice = (await client.get("/api/audit?actor=alice", headers=admin)).json()
    assert [row["action"] for row in alice["items"]] == ["update", "create"]
    customers = (await client.get("/api/audit?entity=customer", headers=admin)).json()
    assert [row["actor"] for row in customers["items"]] == ["bob"]
    updates = (await client.get("/api/audit?action=update&entity=meter", headers=admin)).json()
    assert updates["total"] == 1

    since = (now - timedelta(days=2, hours=1)).isoformat()
    recent = (await client.get("/api/audit", params={"since": since, "entity": "meter"}, headers=admin)).json()
    assert [row["action"] for row in recent["items"]] == ["update"]
    naive = (now - timedelta(days=1, hours=1)).replace(tzinfo=None).isoformat()  # taken as UTC
    assert (await client.get("/api/audit", params={"since": naive, "actor": "bob"}, headers=admin)).json()["total"] == 1
    future = (now + timedelta(days=1)).isoformat()
    assert (await client.get("/api/audit", params={"since": future}, headers=admin)).json()["items"] == []

    second = (await client.get("/api/audit?actor=alice&limit=1&page=2", headers=admin)).json()
    assert second["total"] == 2 and [row["action"] for row in second["items"]] == ["create"]


async def test_same_instant_rows_keep_their_order(runtime: Runtime) -> None:
    at = datetime.now(UTC)
    await _write(runtime, ("carol", "first", "sim", at), ("carol", "second", "sim", at))
    async with runtime.sessions() as session:
        rows, total = await audit.page(session, offset=0, limit=10, actor="carol")
    assert total == 2 and [row.action for row in rows] == ["second", "first"]


async def test_bad_filters_are_422(client: AsyncClient, admin: dict[str, str]) -> None:
    for query in ("since=yesterday", "since=2024-13-01", "page=0", "limit=501", f"actor={'x' * 65}"):
        answer = await client.get(f"/api/audit?{query}", headers=admin)
        assert answer.status_code == 422, query
        assert answer.json()["error"]["code"] == "invalid_input"


async def test_only_admins_read_the_audit_log(
    client: AsyncClient, operator: dict[str, str], viewer: dict[str, str]
) -> None:
    for headers in (operator, viewer):
        answer = await client.get("/api/audit", headers=headers)
        assert answer.status_code == 403 and answer.json()["error"]["code"] == "forbidden"
    assert (await client.get("/api/audit")).status_code == 401
