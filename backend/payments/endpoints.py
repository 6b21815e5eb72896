"""Finance API: payment batches (four eyes), SEPA files and reconciliation.

Authorisation goes through ONE module-level dependency, `current_finance_user`: the
policy layer's `require_roles(Role.FINANCE)` turned into a `FinanceUser` (bearer
token). Overriding it (`app.dependency_overrides[current_finance_user]`) changes
every route.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from backend.access.dependencies import require_roles
from backend.access.policy import Principal
from backend.access.roles import Role
from backend.api.deps import DbSession
from backend.payments import batches as batch_service
from backend.payments.errors import BatchStateConflict
from backend.payments.finance_users import FinanceUser
from backend.payments.reconcile import reconcile
from backend.payments.sepa_file import FORMATS
from backend.payments.views import batch_summary, instruction_summary


def current_finance_user(
    principal: Principal = Depends(require_roles(Role.FINANCE)),  # noqa: B008
) -> FinanceUser:
    """The acting finance user for every finance route."""
    return FinanceUser(username=principal.username, user_id=principal.user_id, principal=principal)


FinanceUserDep = Annotated[FinanceUser, Depends(current_finance_user)]


def write_session(session: DbSession) -> Session:
    """The request session, starting SQLite transactions with BEGIN IMMEDIATE (writers
    queue instead of failing on a lock upgrade). Declare it before the user dependency."""
    session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
    return session


WriteSession = Annotated[Session, Depends(write_session)]

router = APIRouter(prefix="/api/finance", tags=["finance"])


class BatchOut(BaseModel):
    id: int
    status: str
    version: int
    execution_date: dt.date
    payments: int
    control_sum_cents: int
    control_sum: str
    message_id: str
    pmt_inf_id: str
    format: str | None
    sha256: str | None
    sha1: str | None
    prepared_by: str | None
    approved_by: str | None
    exported_by: str | None


class InstructionOut(BaseModel):
    id: int
    participant_id: int
    end_to_end_id: str
    kind: str
    creditor_name: str
    creditor_iban: str
    amount_cents: int
    due_date: dt.date
    status: str
    status_reason_code: str | None
    retry_blocked: bool


class EventOut(BaseModel):
    action: str
    actor: str
    at: dt.datetime
    from_status: str | None
    to_status: str | None
    detail: dict[str, Any]


class BatchDetailOut(BatchOut):
    instructions: list[InstructionOut]
    events: list[EventOut]


class TransitionIn(BaseModel):
    expected_version: int | None = Field(
        default=None, description="Refuse when the batch changed since this version."
    )


class CancelIn(BaseModel):
    reason: str = Field(min_length=1, max_length=500)
    release: bool = Field(
        default=False, description="Keep the payments (back to payable) instead of cancelling"
    )


def _log_payee_reads(session: Session, user: FinanceUser, participant_ids: set[int]) -> None:
    """A batch shows payees (for living money: the participant) and amounts: every
    participant in it is recorded in the access log, like any other read."""
    if user.principal is None:
        return
    from backend.access.policy import record_participant_access
    from privacy.activities import PAYMENTS

    for participant_id in sorted(participant_ids):
        record_participant_access(
            session,
            user.principal,  # type: ignore[arg-type]
            participant_id,
            activity=PAYMENTS,
        )


def _detail(session: Session, batch_id: int, user: FinanceUser) -> BatchDetailOut:
    batch = batch_service.get_batch(session, batch_id)
    instructions = batch_service.batch_instructions(session, batch_id)
    _log_payee_reads(session, user, {instruction.participant_id for instruction in instructions})
    return BatchDetailOut(
        **batch_summary(batch),
        instructions=[
            InstructionOut(**instruction_summary(instruction)) for instruction in instructions
        ],
        events=[
            EventOut(
                action=event.action,
                actor=event.actor,
                at=event.at,
                from_status=event.from_status,
                to_status=event.to_status,
                detail=event.detail,
            )
            for event in batch_service.batch_events(session, batch_id)
        ],
    )


def _file_response(exported: batch_service.ExportedFile) -> Response:
    return Response(
        content=exported.content,
        media_type="application/xml",
        headers={
            "Content-Disposition": (
                f'attachment; filename="batch-{exported.batch_id}-{exported.file_format}.xml"'
            ),
            "X-Checksum-SHA256": exported.sha256,
            "X-Checksum-SHA1": exported.sha1,
            "ETag": f'"{exported.sha256}"',
        },
    )


@router.get("/batches", response_model=list[BatchOut], summary="Payment batches")
def list_batches(
    session: DbSession,
    user: FinanceUserDep,
    status: Annotated[list[str] | None, Query()] = None,
) -> list[BatchOut]:
    return [
        BatchOut(**batch_summary(batch))
        for batch in batch_service.list_batches(session, statuses=status)
    ]


@router.post(
    "/batches/propose",
    response_model=list[BatchOut],
    summary="Group payable payments into proposed batches",
)
def propose(session: WriteSession, user: FinanceUserDep) -> list[BatchOut]:
    return [
        BatchOut(**batch_summary(batch))
        for batch in batch_service.propose_batches(session, actor=user.username)
    ]


@router.get(
    "/batches/{batch_id}",
    response_model=BatchDetailOut,
    summary="One batch with control sum, file hashes, payments and history",
)
def batch_detail(batch_id: int, session: DbSession, user: FinanceUserDep) -> BatchDetailOut:
    return _detail(session, batch_id, user)


@router.post(
    "/batches/{batch_id}/prepare",
    response_model=BatchDetailOut,
    summary="Prepare (first finance user)",
)
def prepare(
    batch_id: int, body: TransitionIn, session: WriteSession, user: FinanceUserDep
) -> BatchDetailOut:
    batch_service.prepare_batch(
        session, batch_id, actor=user.username, expected_version=body.expected_version
    )
    return _detail(session, batch_id, user)


@router.post(
    "/batches/{batch_id}/approve",
    response_model=BatchDetailOut,
    summary="Approve (second finance user, never the one who prepared)",
)
def approve(
    batch_id: int, body: TransitionIn, session: WriteSession, user: FinanceUserDep
) -> BatchDetailOut:
    batch_service.approve_batch(
        session, batch_id, actor=user.username, expected_version=body.expected_version
    )
    return _detail(session, batch_id, user)


@router.post(
    "/batches/{batch_id}/export",
    summary="Export an approved batch as SEPA pain.001 (again: the same bytes)",
    response_class=Response,
    responses={200: {"content": {"application/xml": {}}}},
)
def export(
    batch_id: int,
    session: WriteSession,
    user: FinanceUserDep,
    format: Annotated[str | None, Query(description=f"One of {', '.join(FORMATS)}")] = None,
) -> Response:
    return _file_response(
        batch_service.export_batch(session, batch_id, actor=user.username, file_format=format)
    )


@router.get(
    "/batches/{batch_id}/file",
    summary="Download the file of an exported batch",
    response_class=Response,
    responses={200: {"content": {"application/xml": {}}}},
)
def download(batch_id: int, session: WriteSession, user: FinanceUserDep) -> Response:
    batch = batch_service.get_batch(session, batch_id)
    if batch.file_bytes is None:
        raise BatchStateConflict(f"batch {batch_id} has not been exported yet")
    return _file_response(batch_service.export_batch(session, batch_id, actor=user.username))


@router.post(
    "/batches/{batch_id}/cancel",
    response_model=BatchDetailOut,
    summary="Cancel before export (money back, or payments released for a new batch)",
)
def cancel(
    batch_id: int, body: CancelIn, session: WriteSession, user: FinanceUserDep
) -> BatchDetailOut:
    batch_service.cancel_batch(
        session, batch_id, actor=user.username, reason=body.reason, release=body.release
    )
    return _detail(session, batch_id, user)


@router.get("/reconciliation", summary="Ledger against bank statements and payments")
def reconciliation(
    session: DbSession,
    user: FinanceUserDep,
    date: Annotated[dt.date | None, Query()] = None,
) -> dict[str, Any]:
    return reconcile(session, as_of=date).as_dict()
