"""Finance API: upload bank statements, list statements and entries, the suspense queue.

Every route needs a finance permission (policy layer): `bank_data` for statements and
entries, `suspense` for the queue. The upload is checked for the caller's permission
before a byte of the body is read; a body over `UPLOAD_BYTES_MAX` is answered 413
without reading the rest, a refused file 422 problem+json naming file, line and element.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from backend.access.dependencies import require_permissions
from backend.access.policy import Principal, record_participants_shown
from backend.access.roles import Permission
from backend.api.deps import DbSession
from backend.api.problem_docs import problem_responses
from backend.bank import DEFAULT_MAX_BYTES, FileTooLargeError, StatementError, read_statement_file
from backend.bank_import import schemas, views
from backend.bank_import.service import import_statements
from backend.bank_import.suspense import assign_suspense_entry, list_suspense
from backend.errors import AppError, InvalidInput

UPLOAD_BYTES_MAX = DEFAULT_MAX_BYTES
"""The largest statement file accepted (the reader's own limit)."""
MULTIPART_OVERHEAD_BYTES_MAX = 64 * 1024
FILENAME_LENGTH_MAX = 255


class PayloadTooLarge(AppError):
    status_code = 413
    title = "Statement file too large"
    slug = "payload-too-large"


class StatementRefused(AppError):
    status_code = 422
    title = "Bank statement refused"
    slug = "statement-refused"


def _refused(error: StatementError) -> AppError:
    extra = {
        "filename": error.filename,
        "line": error.line,
        "element": error.element,
        "details": list(error.details) or None,
    }
    if isinstance(error, FileTooLargeError):
        return PayloadTooLarge(str(error), **extra)
    return StatementRefused(str(error), **extra)


BankUser = Annotated[Principal, Depends(require_permissions(Permission.BANK_DATA))]
SuspenseUser = Annotated[Principal, Depends(require_permissions(Permission.SUSPENSE))]


class StatementUpload:
    """The uploaded file: its name and bytes."""

    def __init__(self, filename: str, data: bytes) -> None:
        self.filename = filename
        self.data = data


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"the upload is larger than the maximum of {limit // (1024 * 1024)} MB for a statement"
    )


async def statement_upload(request: Request) -> StatementUpload:
    """Read the multipart body (field `file`) with a byte limit: 413 past the limit."""
    limit = UPLOAD_BYTES_MAX + MULTIPART_OVERHEAD_BYTES_MAX
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(UPLOAD_BYTES_MAX)
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise InvalidInput(
            "send the statement as multipart/form-data with the file in a field named 'file'"
        )
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > limit:
            raise _too_large(UPLOAD_BYTES_MAX)
    body = bytes(received)

    async def replay() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    form = await Request(request.scope, replay).form(max_files=1, max_fields=5)
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        await form.close()
        raise InvalidInput("the upload has no file in a field named 'file'")
    data = await upload.read()
    filename = (upload.filename or "upload").replace("\\", "/").rsplit("/", 1)[-1]
    await form.close()
    if len(data) > UPLOAD_BYTES_MAX:
        raise _too_large(UPLOAD_BYTES_MAX)
    return StatementUpload(filename[:FILENAME_LENGTH_MAX] or "upload", data)


Upload = Annotated[StatementUpload, Depends(statement_upload)]

router = APIRouter(prefix="/api/finance/bank", tags=["finance: bank statements"])

_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "A CAMT.053 (.001.02 or .001.08) or MT940 file.",
                        }
                    },
                }
            }
        },
    }
}


@router.post(
    "/statements",
    status_code=201,
    response_model=schemas.ImportOut,
    summary="Import a bank statement file (each entry exactly once)",
    responses={**problem_responses(401, 403), 413: {"description": "The file is too large"}},
    openapi_extra=_UPLOAD_BODY,
)
def upload_statement(session: DbSession, user: BankUser, upload: Upload) -> dict[str, Any]:
    try:
        statements = read_statement_file(
            upload.data, filename=upload.filename, max_bytes=UPLOAD_BYTES_MAX
        )
    except StatementError as error:
        raise _refused(error) from error
    # The reading is done; only now take the write lock (SQLite: BEGIN IMMEDIATE), so
    # other writers do not wait while a large file is parsed.
    _start_writing(session)
    try:
        report = import_statements(
            session,
            statements,
            filename=upload.filename,
            file_sha256=hashlib.sha256(upload.data).hexdigest(),
            imported_by=user.username,
        )
    except StatementError as error:
        raise _refused(error) from error
    return report.as_dict()


def _start_writing(session: Session) -> None:
    """End the read-only transaction of the authorisation check and begin a writing one."""
    session.commit()
    session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})


@router.get(
    "/statements",
    response_model=schemas.StatementPage,
    summary="Imported statements, newest first",
    responses=problem_responses(401, 403),
)
def statements(
    session: DbSession,
    user: BankUser,
    account: Annotated[str | None, Query(max_length=34, description="Only this IBAN")] = None,
    limit: Annotated[int, Query(ge=1, le=views.PAGE_SIZE_MAX)] = 50,
    offset: Annotated[int, Query(ge=0, le=views.OFFSET_MAX)] = 0,
) -> dict[str, Any]:
    page = views.list_statements(session, account_iban=account, limit=limit, offset=offset)
    return {"total": page.total, "limit": limit, "offset": offset, "items": page.items}


@router.get(
    "/entries",
    response_model=schemas.EntryPage,
    summary="Bank entries, filtered and paginated",
    responses=problem_responses(401, 403),
)
def entries(
    session: DbSession,
    user: BankUser,
    statement: Annotated[
        int | None, Query(ge=1, le=views.ID_MAX, description="Only this statement (id)")
    ] = None,
    account: Annotated[str | None, Query(max_length=34)] = None,
    status: Annotated[list[str] | None, Query(description="Repeat for several")] = None,
    direction: Annotated[str | None, Query(pattern="^(CRDT|DBIT)$")] = None,
    booked_from: Annotated[dt.date | None, Query()] = None,
    booked_until: Annotated[dt.date | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=views.PAGE_SIZE_MAX)] = 50,
    offset: Annotated[int, Query(ge=0, le=views.OFFSET_MAX)] = 0,
) -> dict[str, Any]:
    page = views.list_entries(
        session,
        statement_row_id=statement,
        account_iban=account,
        statuses=status,
        credit_debit=direction,
        booked_from=booked_from,
        booked_until=booked_until,
        limit=limit,
        offset=offset,
    )
    return {"total": page.total, "limit": limit, "offset": offset, "items": page.items}


@router.get(
    "/suspense",
    response_model=schemas.SuspensePageOut,
    summary="The suspense queue, oldest first, with ranked suggestions",
    responses=problem_responses(401, 403),
)
def suspense_queue(
    session: DbSession,
    user: SuspenseUser,
    account: Annotated[str | None, Query(max_length=34)] = None,
    limit: Annotated[int, Query(ge=1, le=views.PAGE_SIZE_MAX)] = 50,
    offset: Annotated[int, Query(ge=0, le=views.OFFSET_MAX)] = 0,
) -> dict[str, Any]:
    page = list_suspense(session, limit=limit, offset=offset, account_iban=account)
    record_participants_shown(
        session,
        user,
        (view.suggestion.participant_id for item in page.items for view in item.suggestions),
    )
    return {
        "total": page.total,
        "total_cents": page.total_cents,
        "limit": limit,
        "offset": offset,
        "items": [views.suspense_item_view(item) for item in page.items],
    }


@router.post(
    "/suspense/{entry_id}/assign",
    response_model=schemas.AssignmentOut,
    summary="Assign an entry in suspense to a participant (suspense → available)",
    responses=problem_responses(401, 403, 404, 409),
)
def assign(
    entry_id: Annotated[int, Path(ge=1, le=2**63 - 1, description="The bank entry's id")],
    body: schemas.AssignIn,
    session: DbSession,
    user: SuspenseUser,
) -> dict[str, Any]:
    _start_writing(session)
    result = assign_suspense_entry(
        session,
        bank_entry_id=entry_id,
        participant_id=body.participant_id,
        assigned_by=user.username,
        reason=body.reason,
        agreement_id=body.agreement_id,
    )
    return {
        "assignment_id": result.assignment_id,
        "bank_entry_id": result.bank_entry_id,
        "participant_id": result.participant_id,
        "agreement_id": result.agreement_id,
        "expected_date": result.expected_date,
        "amount_cents": result.amount_cents,
        "journal_entry_key": result.journal_entry_key,
        "assigned_by": result.assigned_by,
        "reason": result.reason,
        "assigned_at": result.assigned_at,
        "created": result.created,
    }
