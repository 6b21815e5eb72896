"""The finance console (/financien): the daily money routine.

- Afschriften: upload a CAMT.053/MT940 file (backend.bank_import), see what the
  import did and the gaps between statements.
- Te verdelen: the suspense queue with ranked suggestions; assign with a reason,
  after a confirmation step (backend.bank_import.assign_suspense_entry).
- Betaalbatches: propose, prepare (finance user A), approve (user B, never A),
  export and download the pain.001 (backend.payments.batches), with the control
  sum and the file's SHA-256/SHA-1 on screen.
- Aansluiting: the reconciliation report (backend.payments.reconcile) and the
  returned payments to follow up.

Who may do what is the policy layer's: `require_permission` per page (403 for
any other role). Finance users never see participant pages; they see the names
the suspense suggestions and payments carry, which is what their work needs.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request, UploadFile
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.responses import Response

from backend.access.dependencies import ID_MAX
from backend.access.policy import Principal, record_participants_shown, require_permission
from backend.access.roles import Permission, Role
from backend.api.deps import DbSession
from backend.bank import StatementError
from backend.bank_import import assign_suspense_entry, import_statement_file, list_suspense
from backend.bank_import import views as bank_views
from backend.bank_import.suspense import SuggestionView, suggestions_for_entry
from backend.errors import AppError, InvalidInput, NotFound
from backend.models import (
    Alert,
    BankEntryRecord,
    MunicipalBankAccount,
    Participant,
    PaymentInstruction,
)
from backend.payments import batches as batch_service
from backend.payments.reconcile import reconcile
from client_app.i18n import translate
from client_app.pages.auth import HOME_BY_ROLE
from client_app.pages.staff import (
    PAGE_SIZE,
    PAGE_SIZES,
    Paging,
    filter_form,
    page_link,
    page_number,
    page_size,
    remembered_filters,
)
from client_app.web.cookies import mark_page
from client_app.web.rendering import page_today, redirect, render, request_language
from client_app.web.routing import CsrfProtected, PageRoute, PageUser

router = APIRouter(prefix="/financien", route_class=PageRoute, include_in_schema=False)
HOME_BY_ROLE[Role.FINANCE] = lambda user: "/financien/afschriften"

UPLOAD_BYTES_MAX = 50 * 1024 * 1024
REASON_LENGTH_MAX = 500
BATCH_STATUSES = (
    "proposed",
    "prepared",
    "approved",
    "exported",
    "settled",
    "partly_returned",
    "rejected",
    "cancelled",
)
FLASHES = frozenset(
    {"assigned", "prepared", "approved", "exported", "proposed", "statement_imported"}
)
ItemId = Annotated[int, Path(ge=1, le=ID_MAX)]


def _finance(permission: Permission) -> Any:
    def dependency(user: PageUser) -> Principal:
        require_permission(user, permission)
        return user

    return Depends(dependency)


BankUser = Annotated[Principal, _finance(Permission.BANK_DATA)]
SuspenseUser = Annotated[Principal, _finance(Permission.SUSPENSE)]
BatchUser = Annotated[Principal, _finance(Permission.PAYMENT_BATCHES)]
ReconcileUser = Annotated[Principal, _finance(Permission.RECONCILIATION)]

NAVIGATION = (
    ("statements", "/financien/afschriften", "finance.nav.statements"),
    ("suspense", "/financien/te-verdelen", "finance.nav.suspense"),
    ("batches", "/financien/betaalbatches", "finance.nav.batches"),
    ("reconciliation", "/financien/aansluiting", "finance.nav.reconciliation"),
)


def _page(
    request: Request,
    user: Principal,
    template: str,
    active: str,
    title_key: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
) -> Response:
    lang = request_language(request)
    flash_key = request.query_params.get("gedaan")
    return render(
        request,
        template,
        {
            "page_title": translate(lang, title_key),
            "navigation": NAVIGATION,
            "active": active,
            "flash": translate(lang, f"finance.flash.{flash_key}")
            if flash_key in FLASHES
            else None,
            **context,
        },
        principal=user,
        status_code=status_code,
    )


def _start_writing(session: Session) -> None:
    """End the reading transaction of the checks and take the write lock (SQLite)."""
    session.commit()
    session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})


# ---------------------------------------------------------------------- Afschriften


def _account_filters(
    request: Request, session: Session, user: Principal, page: str
) -> tuple[dict[str, str], dict[str, Any]]:
    """Filter by municipal bank account and page size, remembered per user (issue 8)."""
    accounts = list(
        session.execute(
            select(MunicipalBankAccount.iban, MunicipalBankAccount.name).order_by(
                MunicipalBankAccount.iban
            )
        )
    )
    allowed = {"rekening": tuple(str(iban) for iban, _ in accounts), "per": PAGE_SIZES}
    filters = remembered_filters(request, user, page, allowed, session)
    lang = request_language(request)
    form = filter_form(
        request.url.path,
        filters,
        [
            (
                "rekening",
                translate(lang, "staff.filters.account"),
                [(str(iban), f"{name} ({iban})") for iban, name in accounts],
                "",
            )
        ],
        lang=lang,
    )
    return filters, form


def _statements_page(
    request: Request,
    session: Session,
    user: Principal,
    *,
    report: dict[str, Any] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    filters, form = _account_filters(request, session, user, "statements")
    number, size = page_number(request), page_size(filters)
    listed = bank_views.list_statements(
        session, account_iban=filters.get("rekening"), limit=size, offset=(number - 1) * size
    )
    gaps = [item for item in listed.items if item["gap_cents"]]
    paging = Paging(number, size, listed.total)
    return _page(
        request,
        user,
        "finance/statements.html",
        "statements",
        "finance.statements.title",
        {
            "statements": listed.items,
            "gaps": gaps,
            "paging": paging,
            "previous_link": page_link(request.url.path, filters, number - 1),
            "next_link": page_link(request.url.path, filters, number + 1),
            "list_filters": form,
            "report": report,
            "error": error,
        },
        status_code=status_code,
    )


@router.get("/afschriften")
def statements(request: Request, user: BankUser, session: DbSession) -> Response:
    return _statements_page(request, session, user)


@router.post("/afschriften", dependencies=[CsrfProtected])
async def upload_statement(
    request: Request, user: BankUser, session: DbSession, bestand: UploadFile | None = None
) -> Response:
    lang = request_language(request)
    if bestand is None or not bestand.filename:
        return _statements_page(
            request,
            session,
            user,
            error=translate(lang, "finance.statements.no_file"),
            status_code=422,
        )
    data = await bestand.read(UPLOAD_BYTES_MAX + 1)
    if len(data) > UPLOAD_BYTES_MAX:
        return _statements_page(
            request,
            session,
            user,
            error=translate(lang, "finance.statements.too_large"),
            status_code=413,
        )
    _start_writing(session)
    try:
        report = import_statement_file(
            session, data, filename=bestand.filename[:200], imported_by=user.username
        )
    except (StatementError, AppError) as error:
        session.rollback()
        return _statements_page(
            request,
            session,
            user,
            error=translate(lang, "finance.statements.refused", detail=str(error)[:500]),
            status_code=422,
        )
    session.commit()
    return _statements_page(request, session, user, report=report.as_dict())


# ---------------------------------------------------------------------- Te verdelen


@router.get("/te-verdelen")
def suspense(request: Request, user: SuspenseUser, session: DbSession) -> Response:
    filters, form = _account_filters(request, session, user, "suspense")
    number, size = page_number(request), page_size(filters)
    queue = list_suspense(
        session, account_iban=filters.get("rekening"), limit=size, offset=(number - 1) * size
    )
    # the list names each entry's best suggestion
    record_participants_shown(
        session,
        user,
        (item.suggestions[0].suggestion.participant_id for item in queue.items if item.suggestions),
    )
    return _page(
        request,
        user,
        "finance/suspense.html",
        "suspense",
        "finance.suspense.title",
        {
            "items": queue.items,
            "total": queue.total,
            "total_cents": queue.total_cents,
            "paging": Paging(number, size, queue.total),
            "previous_link": page_link(request.url.path, filters, number - 1),
            "next_link": page_link(request.url.path, filters, number + 1),
            "list_filters": form,
        },
    )


def _suggestions_shown(
    session: Session, user: Principal, entry: BankEntryRecord
) -> tuple[SuggestionView, ...]:
    suggestions = suggestions_for_entry(session, entry)
    record_participants_shown(session, user, (s.suggestion.participant_id for s in suggestions))
    return suggestions


def _suspense_entry(session: Session, entry_id: int) -> BankEntryRecord:
    entry = session.get(BankEntryRecord, entry_id)
    if entry is None or entry.status != "suspense":
        raise NotFound(f"bank entry {entry_id} is not in suspense")
    return entry


def _assign_form(
    request: Request,
    session: Session,
    user: Principal,
    entry: BankEntryRecord,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    confirm: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    return _page(
        request,
        user,
        "finance/assign.html",
        "suspense",
        "finance.assign.title",
        {
            "entry": entry,
            "suggestions": _suggestions_shown(session, user, entry),
            "values": values or {},
            "errors": errors or {},
            "confirm": confirm,
        },
        status_code=status_code,
    )


@router.get("/te-verdelen/{entry_id}")
def assign_form(
    request: Request, user: SuspenseUser, session: DbSession, entry_id: ItemId
) -> Response:
    entry = _suspense_entry(session, entry_id)
    return _assign_form(request, session, user, entry)


def _parse_choice(choice: str, manual: str) -> tuple[int | None, str | None]:
    """`choice` is "participant:agreement" from a suggestion, or "manual" with a number."""
    if choice and choice != "manual":
        participant_text, _, agreement = choice.partition(":")
        if participant_text.isdigit():
            return int(participant_text), agreement or None
        return None, None
    manual = manual.strip()
    return (int(manual), None) if manual.isdigit() and 0 < int(manual) <= ID_MAX else (None, None)


@router.post("/te-verdelen/{entry_id}", dependencies=[CsrfProtected])
def assign(
    request: Request,
    user: SuspenseUser,
    session: DbSession,
    entry_id: ItemId,
    keuze: Annotated[str, Form(max_length=200)] = "",
    deelnemer: Annotated[str, Form(max_length=20)] = "",
    reden: Annotated[str, Form(max_length=REASON_LENGTH_MAX)] = "",
    bevestigd: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """First post: check and show what will be booked; second post (bevestigd=ja): book."""
    lang = request_language(request)
    entry = _suspense_entry(session, entry_id)
    values = {"keuze": keuze, "deelnemer": deelnemer, "reden": reden}
    participant_id, agreement_id = _parse_choice(keuze, deelnemer)
    errors: dict[str, str] = {}
    participant = session.get(Participant, participant_id) if participant_id else None
    if participant is None:
        errors["keuze"] = translate(lang, "finance.assign.error_participant")
    if not reden.strip():
        errors["reden"] = translate(lang, "finance.assign.error_reason")
    if errors:
        return _assign_form(
            request, session, user, entry, values=values, errors=errors, status_code=422
        )
    assert participant is not None
    if bevestigd != "ja":
        confirm = {
            "participant": participant,
            "agreement_id": agreement_id,
            "reason": " ".join(reden.split()),
            # Still allowed: the daily cycle pays it on to their own IBAN (backend.ending).
            "ended": participant.status == "ended",
        }
        return _assign_form(request, session, user, entry, values=values, confirm=confirm)
    _start_writing(session)
    try:
        assign_suspense_entry(
            session,
            bank_entry_id=entry_id,
            participant_id=participant.id,
            assigned_by=user.username,
            reason=reden,
            agreement_id=agreement_id,
        )
    except InvalidInput as error:
        session.rollback()
        entry = _suspense_entry(session, entry_id)
        return _assign_form(
            request,
            session,
            user,
            entry,
            values=values,
            errors={"keuze": str(error.detail)},
            status_code=422,
        )
    return redirect("/financien/te-verdelen?gedaan=assigned")


# ---------------------------------------------------------------------- Betaalbatches


@router.get("/betaalbatches")
def batches(request: Request, user: BatchUser, session: DbSession) -> Response:
    filters = remembered_filters(
        request, user, "batches", {"status": BATCH_STATUSES, "per": PAGE_SIZES}, session
    )
    status = filters.get("status")
    number, size = page_number(request), page_size(filters)
    statuses = [status] if status else None
    listed = batch_service.list_batches(session, statuses=statuses)
    total = len(listed)
    shown = listed[(number - 1) * size : number * size]
    lang = request_language(request)
    form = filter_form(
        "/financien/betaalbatches",
        filters,
        [
            (
                "status",
                translate(lang, "finance.batches.filter_status"),
                [
                    (item, translate(lang, f"finance.batch_status.{item}"))
                    for item in BATCH_STATUSES
                ],
                "",
            )
        ],
        lang=lang,
    )
    return _page(
        request,
        user,
        "finance/batches.html",
        "batches",
        "finance.batches.title",
        {
            "batches": shown,
            "statuses": BATCH_STATUSES,
            "status": status,
            "paging": Paging(number, size, total),
            "previous_link": page_link(request.url.path, filters, number - 1),
            "next_link": page_link(request.url.path, filters, number + 1),
            "list_filters": form,
        },
    )


@router.post("/betaalbatches/voorstellen", dependencies=[CsrfProtected])
def propose(request: Request, user: BatchUser, session: DbSession) -> Response:
    _start_writing(session)
    batch_service.propose_batches(session, actor=user.username, today=page_today(request))
    return redirect("/financien/betaalbatches?gedaan=proposed")


@router.get("/betaalbatches/{batch_id}")
def batch_detail(
    request: Request, user: BatchUser, session: DbSession, batch_id: ItemId
) -> Response:
    batch = batch_service.get_batch(session, batch_id)
    instructions = batch_service.batch_instructions(session, batch_id)
    shown_total = sum(item.amount_cents for item in instructions)
    return _page(
        request,
        user,
        "finance/batch.html",
        "batches",
        "finance.batch.title",
        {
            "batch": batch,
            "instructions": instructions,
            "instructions_total": shown_total,
            "events": batch_service.batch_events(session, batch_id),
            "may_approve": batch.status == "prepared" and batch.prepared_by != user.username,
        },
    )


@router.post("/betaalbatches/{batch_id}/klaarzetten", dependencies=[CsrfProtected])
def prepare(
    request: Request,
    user: BatchUser,
    session: DbSession,
    batch_id: ItemId,
    versie: Annotated[int | None, Form(ge=0, le=ID_MAX)] = None,
) -> Response:
    _start_writing(session)
    batch_service.prepare_batch(
        session, batch_id, actor=user.username, expected_version=versie, today=page_today(request)
    )
    return redirect(f"/financien/betaalbatches/{batch_id}?gedaan=prepared")


@router.post("/betaalbatches/{batch_id}/goedkeuren", dependencies=[CsrfProtected])
def approve(
    user: BatchUser,
    session: DbSession,
    batch_id: ItemId,
    versie: Annotated[int | None, Form(ge=0, le=ID_MAX)] = None,
) -> Response:
    _start_writing(session)
    batch_service.approve_batch(session, batch_id, actor=user.username, expected_version=versie)
    return redirect(f"/financien/betaalbatches/{batch_id}?gedaan=approved")


@router.post("/betaalbatches/{batch_id}/exporteren", dependencies=[CsrfProtected])
def export(request: Request, user: BatchUser, session: DbSession, batch_id: ItemId) -> Response:
    _start_writing(session)
    batch_service.export_batch(session, batch_id, actor=user.username, today=page_today(request))
    return redirect(f"/financien/betaalbatches/{batch_id}?gedaan=exported")


@router.get("/betaalbatches/{batch_id}/pain001.xml")
def download(request: Request, user: BatchUser, session: DbSession, batch_id: ItemId) -> Response:
    """The stored file of an exported batch (exporting again returns the same bytes)."""
    batch = batch_service.get_batch(session, batch_id)
    if batch.status not in batch_service.EXPORTED_STATUSES:
        raise NotFound(f"batch {batch_id} has not been exported")
    _start_writing(session)
    exported = batch_service.export_batch(
        session, batch_id, actor=user.username, today=page_today(request)
    )
    mark_page(request)
    return Response(
        exported.content,
        media_type="application/xml",
        headers={
            "Content-Disposition": f'attachment; filename="{exported.message_id}.xml"',
            "X-Content-SHA256": exported.sha256,
        },
    )


# ---------------------------------------------------------------------- Aansluiting


@router.get("/aansluiting")
def reconciliation(request: Request, user: ReconcileUser, session: DbSession) -> Response:
    report = reconcile(session)
    returned = list(
        session.scalars(
            select(PaymentInstruction)
            .where(PaymentInstruction.status.in_(("returned", "rejected")))
            .order_by(PaymentInstruction.id.desc())
            .limit(PAGE_SIZE)
        )
    )
    open_finance_alerts = (
        session.scalar(
            select(func.count(Alert.id)).where(
                Alert.resolved_at.is_(None), Alert.participant_id.is_(None)
            )
        )
        or 0
    )
    difference = sum(abs(item.difference_cents) for item in report.differences)
    return _page(
        request,
        user,
        "finance/reconciliation.html",
        "reconciliation",
        "finance.reconciliation.title",
        {
            "report": report,
            "difference_cents": difference,
            "returned": returned,
            "open_finance_alerts": int(open_finance_alerts),
            "checked_on": dt.datetime.now(dt.UTC),
        },
    )
