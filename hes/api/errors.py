"""Turns every failure into the one error shape `{"error": {code, message, details}}`."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from hes.connectivity.errors import ConnectivityUnavailable, MeterNotAnswering, MeterRefused
from hes.errors import (
    AuthenticationFailed,
    Conflict,
    HESError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TooManyRequests,
)

logger = logging.getLogger(__name__)

_STATUS_BY_ERROR: dict[type[HESError], int] = {
    NotFound: 404,
    Conflict: 409,
    InvalidInput: 422,
    AuthenticationFailed: 401,
    PermissionDenied: 403,
    TooManyRequests: 429,
    MeterRefused: 502,
    ConnectivityUnavailable: 503,
    MeterNotAnswering: 504,
}


def error_response(status: int, code: str, message: str, details: list[dict[str, object]]) -> JSONResponse:
    """A JSON answer in the HES error shape."""
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    body = {"error": {"code": code, "message": message, "details": details}}
    return JSONResponse(body, status_code=status, headers=headers)


async def _on_hes_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HESError)
    status = _STATUS_BY_ERROR.get(type(error), 400)
    return error_response(status, error.code, error.message, [p.as_wire() for p in error.problems])


async def _on_validation_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    details: list[dict[str, object]] = [
        {"field": ".".join(str(part) for part in problem["loc"]), "message": problem["msg"]}
        for problem in error.errors()
    ]
    return error_response(422, "invalid_input", f"{len(details)} problem(s) in the request", details)


async def _on_http_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(error.status_code, "http_error")
    return error_response(error.status_code, code, str(error.detail), [])


async def _on_integrity_error(_request: Request, error: Exception) -> JSONResponse:
    # Services check uniqueness first; this catches the race between two writers.
    logger.warning("integrity error reached the API boundary: %s", error)
    return error_response(409, "conflict", "the change conflicts with stored data; reload and retry", [])


def _is_bad_value(error: BaseException) -> bool:
    """True when the database refused a value (SQLSTATE class 22, or the driver's own value check), not a fault."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, DataError | ValueError) or str(getattr(cause, "sqlstate", "") or "").startswith("22"):
            return True
        cause = cause.__cause__ or getattr(cause, "orig", None)
    return False


async def _on_database_error(_request: Request, error: Exception) -> JSONResponse:
    # Edge validation should catch bad values first; this keeps one that slips through from reading as an outage.
    if _is_bad_value(error):
        logger.warning("the database refused a value: %s", error)
        return error_response(422, "invalid_input", "a value does not fit what the database can store", [])
    logger.error("database error: %s", error)
    return error_response(503, "database_unavailable", "the database is unavailable; retry shortly", [])


async def _on_unexpected(_request: Request, error: Exception) -> JSONResponse:
    logger.exception("unhandled error", exc_info=error)
    return error_response(500, "internal_error", "internal error; it has been logged", [])


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers; the most specific error class wins."""
    app.add_exception_handler(HESError, _on_hes_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(IntegrityError, _on_integrity_error)
    app.add_exception_handler(DBAPIError, _on_database_error)
    app.add_exception_handler(OSError, _on_database_error)
    app.add_exception_handler(Exception, _on_unexpected)
