"""User accounts: creation (CLI, first start, admin API), changes, and the first administrator."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from hes.db.enums import Role
from hes.db.store import audit, users
from hes.db.tables import User
from hes.errors import Conflict, InvalidInput, Problem
from hes.security.passwords import MIN_PASSWORD_LENGTH, hash_password

logger = logging.getLogger(__name__)

SYSTEM_ACTOR = "system"


@dataclass(frozen=True)
class NewUser:
    """What it takes to create an account."""

    username: str
    password: str
    role: Role
    full_name: str | None = None
    email: str | None = None
    customer_id: int | None = None


async def create_user(session: AsyncSession, actor: str, new_user: NewUser) -> User:
    """Create an account with an argon2id-hashed password.

    Raises:
        Conflict: the username is taken.
        InvalidInput: the password is too short, or a customer account has no customer.
    """
    _check_new_user(new_user)
    if await users.by_username(session, new_user.username) is not None:
        raise Conflict("username taken", [Problem(f"{new_user.username!r} exists", field="username")])
    user = User(
        username=new_user.username,
        password_hash=hash_password(new_user.password),
        role=new_user.role,
        full_name=new_user.full_name,
        email=new_user.email,
        customer_id=new_user.customer_id,
    )
    session.add(user)
    await session.flush()
    audit.record(session, actor, "create", "user", user.id, {"username": user.username, "role": user.role})
    await session.commit()
    return user


async def ensure_first_admin(session: AsyncSession, username: str, password: str) -> User | None:
    """At first start, create the administrator from HES_ADMIN_PASSWORD when no admin exists yet."""
    if not password or await users.count_admins(session) > 0:
        return None
    admin = await create_user(session, SYSTEM_ACTOR, NewUser(username, password, Role.ADMIN))
    logger.info("created the first administrator %r from HES_ADMIN_PASSWORD", username)
    return admin


def _check_new_user(new_user: NewUser) -> None:
    problems: list[Problem] = []
    if len(new_user.password) < MIN_PASSWORD_LENGTH:
        problems.append(Problem(f"at least {MIN_PASSWORD_LENGTH} characters", field="password"))
    if (new_user.role is Role.CUSTOMER) != (new_user.customer_id is not None):
        problems.append(Problem("a customer account, and only it, names its customer", field="customerId"))
    if problems:
        raise InvalidInput("invalid user", problems)
