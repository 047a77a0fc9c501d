"""/api/meters/data-ingestion (meters and gateways push readings and events) and their device tokens.

The ingestion endpoint is a plain Starlette route, matched before the API router: it is called thousands of
times a second, and FastAPI's per-request routing and dependency solving cost more than decoding a
100-reading body (measured: ~140 us against ~25 us per request). It declares its one access rule like
every route (device token only, see `ACCESS_RULE_ATTRIBUTE`) and is documented in OpenAPI through
`openapi_paths`. The device-token routes are ordinary FastAPI routes.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route
from starlette.types import Scope

from hes.api.deps import ACCESS_RULE_ATTRIBUTE, Operator, RuntimeDep, SessionDep
from hes.api.errors import error_response
from hes.api.schemas.fields import RecordId
from hes.api.schemas.ingestion import (
    DeviceTokenOut,
    DeviceTokensRevokedOut,
    decode_body,
    encode_answer,
    openapi_extra,
)
from hes.db.enums import ReadingSource
from hes.errors import AuthenticationFailed
from hes.ingest.errors import IngestError
from hes.ingest.intake import SenderScope, take_in
from hes.runtime import Runtime
from hes.services import device_tokens
from hes.services.device_tokens import DeviceTokenScope

INGESTION_PATH = "/api/meters/data-ingestion"
# Only meters and gateways call it, with a device token; a user's JWT is refused (401).
DEVICE_RULE = "device"
SECURITY_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "description": "Device token from POST /api/meters/{meterId}/device-token (a user's access token is refused)",
}
_ERRORS = {
    "400": {"description": "The body is not JSON"},
    "401": {"description": "No device token, a user's token, or an unknown or revoked device token"},
    "413": {"description": "The body is larger than HES_INGEST_MAX_BODY_BYTES"},
    "422": {"description": "JSON of the wrong shape"},
    "503": {"description": "Ingest is at capacity or the database is unavailable; retry after Retry-After seconds"},
}

router = APIRouter(prefix="/api/meters", tags=["ingestion"])

ScopeQuery = Annotated[
    DeviceTokenScope,
    Query(description="meter: the token sends for this meter only; concentrator: for every meter of its concentrator"),
]


async def ingest_meter_data(request: Request) -> Response:
    """Readings and events of one or many meters, with the meter's (or its gateway's) device token.

    Answered (202) once everything accepted is durable. Repeats of stored readings are counted as
    duplicates, not errors; each refused item is listed with its index, field and reason.
    """
    runtime: Runtime = request.app.state.runtime
    sender = await _device(request, runtime)
    decoded = decode_body(await _body(request, runtime.settings.ingest_max_body_bytes))
    try:
        result = await take_in(runtime.ingestor, sender, decoded.readings, decoded.events, ReadingSource.HTTP)
    except IngestError as error:
        return _retry_later(error)
    return Response(encode_answer(result, decoded.rejected), status.HTTP_202_ACCEPTED, media_type="application/json")


class _HotRoute(Route):
    """A Starlette route that names itself in the scope, as FastAPI's routes do (request metrics read it)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        if match is not Match.NONE:
            child_scope["route"] = self
        return match, child_scope


setattr(ingest_meter_data, ACCESS_RULE_ATTRIBUTE, DEVICE_RULE)
ingestion_route = _HotRoute(INGESTION_PATH, ingest_meter_data, methods=["POST"], name="ingestion-ingest_meter_data")


def openapi_paths() -> dict[str, Any]:
    """The OpenAPI path item of the ingestion endpoint (it is not a FastAPI route, so it is added by hand)."""
    return {
        INGESTION_PATH: {
            "post": {
                "tags": ["ingestion"],
                "summary": "Ingest Meter Data",
                "description": (ingest_meter_data.__doc__ or "").strip(),
                "operationId": "ingestion-ingest_meter_data",
                "security": [{"DeviceToken": []}],
                **openapi_extra(),
                "responses": {**openapi_extra()["responses"], **_ERRORS},
            }
        }
    }


@router.post("/{meter_id}/device-token", response_model=DeviceTokenOut, status_code=status.HTTP_201_CREATED)
async def issue_device_token(
    meter_id: RecordId,
    session: SessionDep,
    principal: Operator,
    runtime: RuntimeDep,
    scope: ScopeQuery = DeviceTokenScope.METER,
) -> DeviceTokenOut:
    """A new device token for the meter (or its concentrator's gateway), shown once; the previous one stops working."""
    issued = await device_tokens.issue(session, principal, meter_id, scope, runtime.device_tokens)
    return DeviceTokenOut.of(issued)


@router.delete("/{meter_id}/device-token", response_model=DeviceTokensRevokedOut)
async def revoke_device_token(
    meter_id: RecordId,
    session: SessionDep,
    principal: Operator,
    runtime: RuntimeDep,
    scope: ScopeQuery = DeviceTokenScope.METER,
) -> DeviceTokensRevokedOut:
    """Revoke the meter's (or its concentrator's) device token; it is refused from now on."""
    revoked = await device_tokens.revoke(session, principal, meter_id, scope, runtime.device_tokens)
    return DeviceTokensRevokedOut(revoked=revoked)


async def _device(request: Request, runtime: Runtime) -> SenderScope:
    """The meter or gateway sending, from `Authorization: Bearer <device token>`."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed("missing device token")
    return await device_tokens.authenticate(runtime.sessions, runtime.device_tokens, token.strip())


async def _body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is known to exceed `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise StarletteHTTPException(413, f"the body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():  # a chunked body has no Content-Length: count as it arrives
        size += len(chunk)
        if size > limit:
            raise StarletteHTTPException(413, f"the body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _retry_later(error: IngestError) -> JSONResponse:
    answer = error_response(503, error.code, error.message, [])
    answer.headers["Retry-After"] = str(error.retry_after)
    return answer
