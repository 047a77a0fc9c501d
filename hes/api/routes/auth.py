"""/api/auth: login, refresh, me, and changing one's own password."""

from __future__ import annotations

from fastapi import APIRouter, Request

from hes.api.deps import PUBLIC, AnyUser, RuntimeDep, SessionDep
from hes.api.schemas.auth import LoginRequest, MeAnswer, RefreshRequest, TokenAnswer, UserSummary
from hes.api.schemas.users import OwnPasswordChange
from hes.services import auth, users
from hes.services.auth import TokenPair

router = APIRouter(prefix="/api/auth", tags=["auth"])


def _answer(pair: TokenPair) -> TokenAnswer:
    return TokenAnswer(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        expires_in=pair.expires_in,
        user=UserSummary.model_validate(pair.user),
    )


@router.post("/login", response_model=TokenAnswer, dependencies=[PUBLIC])
async def login(body: LoginRequest, request: Request, session: SessionDep, runtime: RuntimeDep) -> TokenAnswer:
    """Sign in with username and password; rate-limited per client address and per username."""
    client_address = request.client.host if request.client else "unknown"
    await runtime.login_limiter.check(client_address, body.username)
    return _answer(await auth.login(session, runtime.settings, body.username, body.password))


@router.post("/refresh", response_model=TokenAnswer, dependencies=[PUBLIC])
async def refresh(body: RefreshRequest, session: SessionDep, runtime: RuntimeDep) -> TokenAnswer:
    """Trade a refresh token for a new access and refresh token."""
    return _answer(await auth.refresh(session, runtime.settings, body.refresh_token))


@router.get("/me", response_model=MeAnswer)
async def me(principal: AnyUser) -> MeAnswer:
    """The signed-in caller."""
    return MeAnswer(
        id=principal.user_id,
        username=principal.username,
        role=principal.role,
        customer_id=principal.customer_id,
        area_ids=sorted(principal.area_ids),
    )


@router.post("/password", response_model=TokenAnswer)
async def change_password(
    body: OwnPasswordChange, request: Request, session: SessionDep, runtime: RuntimeDep, principal: AnyUser
) -> TokenAnswer:
    """Change your own password; every earlier token stops working, and this answer carries fresh ones.

    Rate-limited like login, so a stolen access token cannot be used to guess the current password.
    """
    client_address = request.client.host if request.client else "unknown"
    await runtime.login_limiter.check(client_address, principal.username)
    pair = await users.change_own_password(
        session, runtime.settings, principal, body.current_password, body.new_password
    )
    return _answer(pair)
