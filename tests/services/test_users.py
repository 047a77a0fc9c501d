"""User account services: creation, first admin, changes, passwords, token revocation, audit, refusals."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hes.config import Settings
from hes.db.enums import Role
from hes.db.tables import Area, AuditEntry, User
from hes.errors import Conflict, InvalidInput, NotFound
from hes.runtime import Runtime
from hes.security.passwords import verify_password
from hes.services import users
from hes.services.listing import Pagination
from hes.services.principal import Principal
from hes.services.users import AccountRequest, NewUser, UserChanges

PASSWORD = "correct-horse-battery"
# An administrator who is not one of the accounts below, so "last admin" rules can be reached.
OUTSIDER = Principal(user_id=0, username="outsider", role=Role.ADMIN)


async def _audit_rows(session: AsyncSession) -> list[tuple[str, str, str | None]]:
    rows = await session.execute(
        select(AuditEntry.actor, AuditEntry.action, AuditEntry.entity_id).order_by(AuditEntry.id)
    )
    return list(rows.tuples())


async def _count_users(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(User)) or 0)


async def test_create_user_hashes_the_password_and_audits(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        user = await users.create_user(session, "cli", NewUser("ada", PASSWORD, Role.OPERATOR, full_name="Ada"))
        assert user.password_hash != PASSWORD and verify_password(user.password_hash, PASSWORD)
        assert user.is_active and user.token_version == 0
        assert await _audit_rows(session) == [("cli", "create", str(user.id))]


async def test_create_user_lists_every_problem_and_writes_nothing(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        with pytest.raises(InvalidInput) as refused:
            await users.create_user(session, "cli", NewUser("a b", "short", Role.CUSTOMER, area_ids=frozenset({404})))
        assert {problem.field for problem in refused.value.problems} == {
            "username",
            "password",
            "customerId",
            "areaIds",
        }
        assert await _count_users(session) == 0 and await _audit_rows(session) == []


async def test_a_taken_username_is_a_conflict(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        await users.create_user(session, "cli", NewUser("Ada", PASSWORD, Role.VIEWER))
        with pytest.raises(Conflict):
            await users.create_user(session, "cli", NewUser("ADA", PASSWORD, Role.ADMIN))
        assert await _count_users(session) == 1


async def test_first_admin_is_created_once(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        assert await users.ensure_first_admin(session, "admin", "") is None
        first = await users.ensure_first_admin(session, "admin", PASSWORD)
        assert first is not None and first.role is Role.ADMIN
        assert await users.ensure_first_admin(session, "admin", "another-password") is None
        assert await _count_users(session) == 1
        assert await _audit_rows(session) == [(users.SYSTEM_ACTOR, "create", str(first.id))]


async def test_first_admin_tolerates_a_database_that_is_down(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    down = Runtime.from_settings(settings.model_copy(update={"database_url": "postgresql://hes@127.0.0.1:1/hes"}))
    try:
        async with down.sessions() as session:
            with caplog.at_level(logging.WARNING, logger="hes.services.users"):
                assert await users.ensure_first_admin(session, "admin", PASSWORD) is None
    finally:
        await down.close()
    assert "database is unavailable" in caplog.text


async def test_create_account_generates_a_password_when_none_is_given(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        area = Area(code="N", name="North")
        session.add(area)
        await session.commit()
        request = AccountRequest(username="reader", role=Role.VIEWER, area_ids=frozenset({area.id}))
        outcome = await users.create_account(session, OUTSIDER, request)
        assert outcome.generated_password and verify_password(
            outcome.details.user.password_hash, outcome.generated_password
        )
        assert outcome.details.area_ids == {area.id}
        chosen = await users.create_account(session, OUTSIDER, AccountRequest("chosen", Role.VIEWER, PASSWORD))
        assert chosen.generated_password is None
        listing = await users.list_users(session, OUTSIDER, Pagination(), search="reader")
        assert [(d.user.username, d.area_ids) for d in listing.items] == [("reader", frozenset({area.id}))]


async def test_role_change_and_deactivation_revoke_tokens_but_a_name_change_does_not(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        user = await users.create_user(session, "cli", NewUser("ada", PASSWORD, Role.VIEWER))
        await users.update_user(session, OUTSIDER, user.id, UserChanges(full_name="Ada O."), frozenset({"full_name"}))
        assert user.token_version == 0
        await users.update_user(session, OUTSIDER, user.id, UserChanges(role=Role.VIEWER), frozenset({"role"}))
        assert user.token_version == 0  # the same role is no change
        await users.update_user(session, OUTSIDER, user.id, UserChanges(role=Role.OPERATOR), frozenset({"role"}))
        assert user.token_version == 1
        await users.update_user(session, OUTSIDER, user.id, UserChanges(is_active=False), frozenset({"is_active"}))
        assert user.token_version == 2 and not user.is_active
        await users.update_user(session, OUTSIDER, user.id, UserChanges(is_active=True), frozenset({"is_active"}))
        assert user.token_version == 2 and user.is_active
        actions = [action for _, action, _ in await _audit_rows(session)]
        assert actions == ["create", "update", "update", "update", "update"]


async def test_passwords_set_by_an_admin_revoke_tokens(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        user = await users.create_user(session, "cli", NewUser("ada", PASSWORD, Role.VIEWER))
        outcome = await users.set_password(session, OUTSIDER, user.id, None)
        assert outcome.generated_password and user.token_version == 1
        assert verify_password(user.password_hash, outcome.generated_password)
        with pytest.raises(InvalidInput):
            await users.set_password(session, OUTSIDER, user.id, "short")
        assert user.token_version == 1
        with pytest.raises(NotFound):
            await users.set_password(session, OUTSIDER, 9999, PASSWORD)


async def test_the_last_active_admin_cannot_be_removed(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        admin_id = (await users.create_user(session, "cli", NewUser("root", PASSWORD, Role.ADMIN))).id
        for attempt in (
            users.deactivate_user(session, OUTSIDER, admin_id),
            users.update_user(session, OUTSIDER, admin_id, UserChanges(role=Role.OPERATOR), frozenset({"role"})),
            users.update_user(session, OUTSIDER, admin_id, UserChanges(is_active=False), frozenset({"is_active"})),
        ):
            with pytest.raises(Conflict, match="last active administrator"):
                await attempt
            await session.rollback()
        refreshed = await users.get_user(session, admin_id)
        assert refreshed.user.role is Role.ADMIN and refreshed.user.is_active and refreshed.user.token_version == 0
        assert [action for _, action, _ in await _audit_rows(session)] == ["create"]

        other_id = (await users.create_user(session, "cli", NewUser("root2", PASSWORD, Role.ADMIN))).id
        await users.deactivate_user(session, OUTSIDER, admin_id)
        with pytest.raises(Conflict):
            await users.deactivate_user(session, OUTSIDER, other_id)


async def test_an_admin_cannot_deactivate_themself(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        await users.create_user(session, "cli", NewUser("root", PASSWORD, Role.ADMIN))
        me_id = (await users.create_user(session, "cli", NewUser("myself", PASSWORD, Role.ADMIN))).id
        principal = Principal(user_id=me_id, username="myself", role=Role.ADMIN)
        with pytest.raises(Conflict, match="your own account"):
            await users.deactivate_user(session, principal, me_id)
        await session.rollback()
        with pytest.raises(Conflict, match="your own account"):
            await users.update_user(session, principal, me_id, UserChanges(is_active=False), frozenset({"is_active"}))


async def test_own_password_change_checks_the_current_one(runtime: Runtime, settings: Settings) -> None:
    async with runtime.sessions() as session:
        user = await users.create_user(session, "cli", NewUser("ada", PASSWORD, Role.VIEWER))
        principal = Principal(user_id=user.id, username="ada", role=Role.VIEWER)
        with pytest.raises(InvalidInput) as wrong:
            await users.change_own_password(session, settings, principal, "guess-guess-guess", "new-password-1")
        assert wrong.value.problems[0].field == "currentPassword"
        with pytest.raises(InvalidInput) as short:
            await users.change_own_password(session, settings, principal, PASSWORD, "short")
        assert short.value.problems[0].field == "newPassword"
        assert user.token_version == 0 and verify_password(user.password_hash, PASSWORD)

        pair = await users.change_own_password(session, settings, principal, PASSWORD, "new-password-1")
        assert pair.user is user and user.token_version == 1
        assert verify_password(user.password_hash, "new-password-1")
        assert [action for _, action, _ in await _audit_rows(session)] == ["create", "change_password"]


async def test_updates_check_customer_and_areas(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        user_id = (await users.create_user(session, "cli", NewUser("ada", PASSWORD, Role.VIEWER))).id
        with pytest.raises(InvalidInput) as refused:
            await users.update_user(
                session,
                OUTSIDER,
                user_id,
                UserChanges(role=Role.CUSTOMER, area_ids=frozenset({7, 8})),
                frozenset({"role", "area_ids"}),
            )
        assert {problem.field for problem in refused.value.problems} == {"customerId", "areaIds"}
        assert "no area 7, 8" in [problem.message for problem in refused.value.problems]
        await session.rollback()
        assert (await users.get_user(session, user_id)).user.role is Role.VIEWER
