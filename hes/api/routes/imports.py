"""CSV bulk import (/api/meters/import, /api/customers/import, /api/sims/import) and templates (/api/templates)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Awaitable, Callable
from tempfile import SpooledTemporaryFile
from typing import IO, Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from starlette.datastructures import UploadFile
from starlette.types import Message, Receive

from hes.api.deps import Operator, RuntimeDep, SessionDep, Staff
from hes.api.schemas.common import ErrorAnswer
from hes.api.schemas.imports import ImportReportOut
from hes.errors import InvalidInput, Problem
from hes.services import imports
from hes.services.imports import ImportEntity, ImportMode

router = APIRouter(tags=["imports"])

# A raw CSV body stays in memory up to this size, then goes to a temporary file (as Starlette does for uploads).
_SPOOL_BYTES = 1024 * 1024
_FORM_FIELD = "file"

ModeQuery = Annotated[
    ImportMode, Query(description="all-or-nothing: any bad row imports nothing; valid-only: import the good rows")
]
DryRunQuery = Annotated[bool, Query(alias="dryRun", description="Validate only; write nothing")]

# The upload is read by the `csv_upload` dependency (streamed, size-limited), so OpenAPI is told by hand.
_CSV_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {_FORM_FIELD: {"type": "string", "format": "binary"}},
                    "required": [_FORM_FIELD],
                }
            },
            "text/csv": {"schema": {"type": "string"}},
        },
    }
}
_IMPORT_ERRORS: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorAnswer, "description": "Upload larger than HES_IMPORT_MAX_BYTES"},
    422: {"model": ErrorAnswer, "description": "Bad file, or bad rows (all-or-nothing): every row listed"},
}


def _too_large(limit: int) -> HTTPException:
    return HTTPException(413, f"the upload is larger than the {limit}-byte limit (HES_IMPORT_MAX_BYTES)")


def _limited(receive: Receive, limit: int) -> Receive:
    """The request's receive channel, refusing a body that grows past `limit` (chunked uploads declare no size)."""
    received = 0

    async def limited_receive() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise _too_large(limit)
        return message

    return limited_receive


async def csv_upload(request: Request, runtime: RuntimeDep, _caller: Operator) -> AsyncIterator[IO[bytes]]:
    """The uploaded CSV as a binary file: multipart field `file` (web console) or the raw body (curl --data-binary).

    Checked after the caller's role, so nobody else can make the server spool a large body.
    """
    limit = runtime.settings.import_max_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    body = Request(request.scope, _limited(request.receive, limit))
    if request.headers.get("content-type", "").split(";")[0].strip().lower() == "multipart/form-data":
        form = await body.form(max_files=1, max_fields=10)
        try:
            upload = form.get(_FORM_FIELD)
            if isinstance(upload, UploadFile):
                await upload.seek(0)
                yield upload.file
            elif isinstance(upload, str):
                yield io.BytesIO(upload.encode())
            else:
                missing = Problem("send the CSV file in this multipart form field", field=_FORM_FIELD)
                raise InvalidInput("no CSV file in the form", [missing])
        finally:
            await form.close()
        return
    spool = SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115 (closed below, after the import)
    try:
        async for chunk in body.stream():
            spool.write(chunk)
        spool.seek(0)
        yield spool
    finally:
        spool.close()


CsvUpload = Annotated[IO[bytes], Depends(csv_upload)]


# Each import has its own path (the seed's), one handler shape; the table keeps the three from drifting apart.
_IMPORT_ROUTES = (
    ("/api/meters/import", ImportEntity.METERS, "import_meters", "meters"),
    ("/api/customers/import", ImportEntity.CUSTOMERS, "import_customers", "customers"),
    ("/api/sims/import", ImportEntity.SIMCARDS, "import_sims", "SIM cards"),
)


def _import_handler(entity: ImportEntity, label: str) -> Callable[..., Awaitable[ImportReportOut]]:
    async def handler(
        session: SessionDep,
        principal: Operator,
        upload: CsvUpload,
        mode: ModeQuery = ImportMode.ALL_OR_NOTHING,
        dry_run: DryRunQuery = False,
    ) -> ImportReportOut:
        report = await imports.import_csv(session, principal, entity, upload, mode=mode, dry_run=dry_run)
        return ImportReportOut.of(report)

    handler.__doc__ = f"Import {label} from a CSV file (template: GET /api/templates/{entity.value})."
    return handler


for _path, _entity, _name, _label in _IMPORT_ROUTES:
    router.post(_path, response_model=ImportReportOut, openapi_extra=_CSV_BODY, responses=_IMPORT_ERRORS, name=_name)(
        _import_handler(_entity, _label)
    )


@router.get(
    "/api/templates/{name}",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "Header row and one example row"}},
)
async def download_template(name: ImportEntity, session: SessionDep, principal: Staff) -> Response:
    """The CSV template of an import: its exact headers and one row that imports as it is."""
    content = await imports.template_csv(session, name)
    disposition = f'attachment; filename="{name.value}-template.csv"'
    return Response(content, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": disposition})
