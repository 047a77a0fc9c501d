"""User accounts: creation (CLI, first start, admin API), changes, passwords, and the first administrator."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from hes.config import Settings
from hes.db.enums import Role
from hes.db.store import audit, users
from hes.db.tables import User
from hes.errors import Conflict, InvalidInput, NotFound, Problem
from hes.security.passwords import MIN_PASSWORD_LENGTH, generate_password, hash_password, verify_password
from hes.services import areas, auth
from hes.services.listing import Listing, Pagination
from hes.services.principal import Principal

logger = logging.getLogger(__name__)

SYSTEM_ACTOR = "system"
# Letters, digits and . _ @ - : safe in URLs, logs and audit rows, and e-mail addresses fit.
USERNAME_PATTERN = r"^[A-Za-z0-9._@-]{3,64}$"
_USERNAME = re.compile(USERNAME_PATTERN)


@dataclass(frozen=True)
class NewUser:
    """What it takes to create an account."""

    username: str
    password: str
    role: Role
    full_name: str | None = None
    email: str | None = None
    customer_id: int | None = None
    area_ids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class AccountRequest:
    """An administrator's request for a new account; without a password one is generated."""

    username: str
    role: Role
    password: str | None = None
    full_name: str | None = None
    email: str | None = None
    customer_id: int | None = None
    area_ids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class UserChanges:
    """Editable fields of an account; which ones apply is said by the caller's `provided` set."""

    role: Role | None = None
    full_name: str | None = None
    email: str | None = None
    is_active: bool | None = None
    area_ids: frozenset[int] | None = None
    customer_id: int | None = None


@dataclass(frozen=True)
class UserDetails:
    """An account with the areas it is limited to (empty: every area)."""

    user: User
    area_ids: frozenset[int] = field(default_factory=frozenset)


@dataclass(frozen=True)
class PasswordOutcome:
    """An account after a password was set; `generated_password` is shown once, then never again."""

    details: UserDetails
    generated_password: str | None


async def create_user(session: AsyncSession, actor: str, new_user: NewUser) -> User:
    """Create an account with an argon2id-hashed password.

    Raises:
        Conflict: the username is taken.
        InvalidInput: bad username or too short a password, a customer account without its customer (or
            another account with one), an unknown customer or area.
    """
    user = await _add_user(session, actor, new_user)
    await session.commit()
    return user


async def create_account(session: AsyncSession, principal: Principal, request: AccountRequest) -> PasswordOutcome:
    """Create an account for an administrator; a password is generated when none is given.

    Raises:
        Conflict: the username is taken. InvalidInput: see `create_user`.
    """
    password, generated = _password_or_generated(request.password)
    new_user = NewUser(
        username=request.username,
        password=password,
        role=request.role,
        full_name=request.full_name,
        email=request.email,
        customer_id=request.customer_id,
        area_ids=request.area_ids,
    )
    user = await _add_user(session, principal.username, new_user)
    await session.commit()
    return PasswordOutcome(UserDetails(user, new_user.area_ids), generated)


async def ensure_first_admin(session: AsyncSession, username: str, password: str) -> User | None:
    """At first start, create the administrator from HES_ADMIN_PASSWORD when no admin exists yet.

    A database that is down is logged, not raised: the process still starts, /health reports the outage,
    and the administrator is created at the next start.
    """
    if not password:
        return None
    try:
        if await users.count_admins(session) > 0:
            return None
        admin = await create_user(session, SYSTEM_ACTOR, NewUser(username, password, Role.ADMIN))
    except (DBAPIError, OSError) as error:
        logger.warning("could not check for a first administrator, the database is unavailable: %s", error)
        return None
    logger.info("created the first administrator %r", username)
    return admin


async def list_users(
    session: AsyncSession,
    principal: Principal,
    pagination: Pagination,
    *,
    role: Role | None = None,
    search: str | None = None,
    is_active: bool | None = None,
    sort: str | None = None,
    area: str | None = None,
) -> Listing[UserDetails]:
    """Accounts, one page, each with its area limits; `area` (code or name) keeps those limited to it or below.

    Raises:
        InvalidInput: `area` names no area; an unknown sort key.
    """
    area_ids = await areas.resolve_area_filter(session, principal, area) if area else None
    rows, total = await users.page(
        session,
        offset=pagination.offset,
        limit=pagination.limit,
        role=role,
        search=search,
        is_active=is_active,
        sort=sort,
        area_ids=area_ids,
    )
    limits = await users.area_ids_of(session, [user.id for user in rows])
    return Listing([UserDetails(user, limits[user.id]) for user in rows], total, pagination)


async def get_user(session: AsyncSession, user_id: int) -> UserDetails:
    """One account with its area limits.

    Raises:
        NotFound: no such account.
    """
    user = await _load(session, user_id)
    return UserDetails(user, await users.area_ids(session, user.id))


async def update_user(
    session: AsyncSession, principal: Principal, user_id: int, changes: UserChanges, provided: frozenset[str]
) -> UserDetails:
    """Change the `provided` fields of an account (a provided None clears an optional field).

    A role change or deactivation ends the account's sessions at once (its tokens stop working).
    Leaving the customer role drops the customer link unless `customer_id` is provided.

    Raises:
        NotFound: no such account.
        InvalidInput: customer link inconsistent with the role, unknown customer or area.
        Conflict: the change would leave no active administrator, or an admin would deactivate themself.
    """
    user = await _load(session, user_id)
    role = changes.role if "role" in provided and changes.role is not None else user.role
    customer_id = changes.customer_id if "customer_id" in provided else user.customer_id
    if "role" in provided and role is not Role.CUSTOMER and "customer_id" not in provided:
        customer_id = None
    is_active = changes.is_active if "is_active" in provided and changes.is_active is not None else user.is_active
    area_ids = changes.area_ids if "area_ids" in provided and changes.area_ids is not None else None
    await _check_links(session, role, customer_id, area_ids or frozenset())
    if not is_active and user.is_active:
        _refuse_self_deactivation(principal, user)
    if user.role is Role.ADMIN and user.is_active and (role is not Role.ADMIN or not is_active):
        await _refuse_removing_last_admin(session, user)

    updates: dict[str, object] = {}
    wanted: tuple[tuple[str, object], ...] = (
        ("role", role),
        ("customer_id", customer_id),
        ("is_active", is_active),
        ("full_name", changes.full_name if "full_name" in provided else user.full_name),
        ("email", changes.email if "email" in provided else user.email),
    )
    for name, value in wanted:
        if getattr(user, name) != value:
            updates[name] = value
    if "role" in updates or updates.get("is_active") is False:
        user.token_version += 1
    for name, value in updates.items():
        setattr(user, name, value)
    current_areas = await users.area_ids(session, user.id)
    if area_ids is not None and area_ids != current_areas:
        await users.set_area_ids(session, user.id, area_ids)
        updates["area_ids"] = sorted(area_ids)
        current_areas = area_ids
    if updates:
        audit.record(session, principal.username, "update", "user", user.id, {"username": user.username, **updates})
    await session.commit()
    return UserDetails(user, current_areas)


async def set_password(
    session: AsyncSession, principal: Principal, user_id: int, password: str | None
) -> PasswordOutcome:
    """Give an account a new password (generated when None); its existing sessions end at once.

    Raises:
        NotFound: no such account. InvalidInput: the password is too short.
    """
    user = await _load(session, user_id)
    new_password, generated = _password_or_generated(password)
    _check_password(new_password, "password")
    user.password_hash = hash_password(new_password)
    user.token_version += 1
    details = {"username": user.username, "generated": generated is not None}
    audit.record(session, principal.username, "set_password", "user", user.id, details)
    await session.commit()
    return PasswordOutcome(UserDetails(user, await users.area_ids(session, user.id)), generated)


async def deactivate_user(session: AsyncSession, principal: Principal, user_id: int) -> None:
    """Disable an account (kept, so the audit trail keeps its name); its sessions end at once.

    Raises:
        NotFound: no such account.
        Conflict: it is the caller's own account, or the last active administrator.
    """
    user = await _load(session, user_id)
    if not user.is_active:
        return
    _refuse_self_deactivation(principal, user)
    if user.role is Role.ADMIN:
        await _refuse_removing_last_admin(session, user)
    user.is_active = False
    user.token_version += 1
    audit.record(session, principal.username, "deactivate", "user", user.id, {"username": user.username})
    await session.commit()


async def change_own_password(
    session: AsyncSession, settings: Settings, principal: Principal, current_password: str, new_password: str
) -> auth.TokenPair:
    """Change the caller's own password; every earlier token stops working and a fresh pair is issued.

    Raises:
        InvalidInput: the current password is wrong, or the new one too short.
        NotFound: the account vanished meanwhile.
    """
    user = await _load(session, principal.user_id)
    if not verify_password(user.password_hash, current_password):
        raise InvalidInput("current password is wrong", [Problem("wrong password", field="currentPassword")])
    _check_password(new_password, "newPassword")
    user.password_hash = hash_password(new_password)
    user.token_version += 1
    audit.record(session, principal.username, "change_password", "user", user.id, {"username": user.username})
    await session.commit()
    return auth.issue_pair(user, settings)


async def _add_user(session: AsyncSession, actor: str, new_user: NewUser) -> User:
    """Check and add an account with its area limits and audit row; the caller commits."""
    problems: list[Problem] = []
    if not _USERNAME.match(new_user.username):
        problems.append(Problem("3-64 letters, digits or . _ @ -", field="username"))
    elif new_user.username.lower() == SYSTEM_ACTOR:
        # The audit trail and automatic alert resolutions name HES Core itself so; no person may pass as it.
        problems.append(Problem(f"{SYSTEM_ACTOR!r} is reserved for HES Core's own actions", field="username"))
    problems.extend(_password_problems(new_user.password, "password"))
    problems.extend(await _link_problems(session, new_user.role, new_user.customer_id, new_user.area_ids))
    if problems:
        raise InvalidInput("invalid user", problems)
    if await users.by_username(session, new_user.username) is not None:
        raise Conflict("username taken", [Problem(f"{new_user.username!r} exists", field="username")])
    user = User(
        username=new_user.username,
        password_hash=hash_password(new_user.password),
        role=new_user.role,
        full_name=new_user.full_name,
        email=new_user.email,
        customer_id=new_user.customer_id,
        is_active=True,
        token_version=0,
    )
    session.add(user)
    await session.flush()
    if new_user.area_ids:
        await users.set_area_ids(session, user.id, new_user.area_ids)
    details: dict[str, object] = {"username": user.username, "role": user.role}
    if new_user.customer_id is not None:
        details["customer_id"] = new_user.customer_id
    if new_user.area_ids:
        details["area_ids"] = sorted(new_user.area_ids)
    audit.record(session, actor, "create", "user", user.id, details)
    return user


async def _load(session: AsyncSession, user_id: int) -> User:
    user = await users.by_id(session, user_id)
    if user is None:
        raise NotFound("user", user_id)
    return user


def _password_or_generated(password: str | None) -> tuple[str, str | None]:
    """The password to set, and the same again when it was generated (to be shown once)."""
    if password is not None:
        return password, None
    generated = generate_password()
    return generated, generated


def _password_problems(password: str, field_name: str) -> list[Problem]:
    if len(password) < MIN_PASSWORD_LENGTH:
        return [Problem(f"at least {MIN_PASSWORD_LENGTH} characters", field=field_name)]
    return []


def _check_password(password: str, field_name: str) -> None:
    problems = _password_problems(password, field_name)
    if problems:
        raise InvalidInput("password too short", problems)


async def _link_problems(
    session: AsyncSession, role: Role, customer_id: int | None, area_ids: frozenset[int]
) -> list[Problem]:
    """What is wrong with an account's customer link and area limits."""
    problems: list[Problem] = []
    if (role is Role.CUSTOMER) != (customer_id is not None):
        problems.append(Problem("a customer account, and only it, names its customer", field="customerId"))
    elif customer_id is not None and not await users.customer_exists(session, customer_id):
        problems.append(Problem(f"no customer {customer_id}", field="customerId"))
    missing = await users.missing_area_ids(session, area_ids)
    if missing:
        problems.append(Problem(f"no area {', '.join(map(str, missing))}", field="areaIds"))
    return problems


async def _check_links(session: AsyncSession, role: Role, customer_id: int | None, area_ids: frozenset[int]) -> None:
    problems = await _link_problems(session, role, customer_id, area_ids)
    if problems:
        raise InvalidInput("invalid user", problems)


def _refuse_self_deactivation(principal: Principal, user: User) -> None:
    if principal.user_id == user.id:
        raise Conflict("you cannot deactivate your own account; ask another administrator")


async def _refuse_removing_last_admin(session: AsyncSession, user: User) -> None:
    if await users.lock_active_admin_ids(session) <= {user.id}:
        raise Conflict("this is the last active administrator; make another administrator first")
