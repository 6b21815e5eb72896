"""Caseworker: follow up, copy or end one agreement (issue 8, Deelnemer page).

/hulpverlener/deelnemer/{id}/afspraak/{agreement} shows one agreement (income or
fixed cost) of the participant's plan with three forms. Each makes a co-decision
proposal (backend.plans.agreement_changes); the participant approves it in the app
and only then does it become a plan version. Wrong input is refused on this page
with a message in plain Dutch, and then nothing is stored.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from backend.access.policy import Principal
from backend.api.deps import DbSession
from backend.codecision.changes import (
    AgreementCopyChange,
    AgreementEndChange,
    AgreementFollowUpChange,
)
from backend.codecision.service import EFFECTIVE_DAYS_AHEAD_MAX
from backend.errors import AppError, Conflict, NotFound
from backend.models import Agreement
from backend.models.base import utcnow
from backend.plans import latest_plan
from backend.plans.agreement_changes import AgreementChange, propose_agreement_change
from backend.plans.projection import DIRECTION_FIXED_COST
from client_app.formatting import date_medium, parse_amount
from client_app.i18n import translate
from client_app.pages.caseworker import NAVIGATION, Caseworker, ItemId, _on_caseload
from client_app.services.plan_text import schedule_text
from client_app.web.rendering import page_today, redirect, render, request_language
from client_app.web.routing import CsrfProtected, PageRoute
from rules import FixedCostAgreement, IncomeAgreement

router = APIRouter(prefix="/hulpverlener", route_class=PageRoute, include_in_schema=False)

ACTIONS = ("vervolg", "kopie", "einde")
REASON_LENGTH_MAX = 1000


def current_agreements(session: Session, participant_id: int) -> list[dict[str, Any]]:
    """The agreements of the latest plan version, with their row ids, for the Deelnemer
    page: what can be followed up, copied or ended."""
    stored = latest_plan(session, participant_id)
    if stored is None:
        return []
    rows = {
        row.plan_agreement_id: row
        for row in session.scalars(
            select(Agreement).where(Agreement.participant_id == participant_id)
        )
        if row.plan_agreement_id is not None
    }
    found: list[dict[str, Any]] = []
    agreements: list[IncomeAgreement | FixedCostAgreement] = [
        *stored.plan.incomes,
        *stored.plan.fixed_costs,
    ]
    for agreement in agreements:
        row = rows.get(agreement.agreement_id)
        if row is not None:
            found.append({"row": row, "agreement": agreement})
    return found


def _agreement_view(session: Session, participant_id: int, agreement_id: int) -> dict[str, Any]:
    for item in current_agreements(session, participant_id):
        if item["row"].id == agreement_id:
            return item
    raise NotFound(f"agreement {agreement_id} is not in this participant's plan")


def _page(
    request: Request,
    user: Principal,
    session: Session,
    participant_id: int,
    agreement_id: int,
    *,
    errors: dict[str, str],
    form: dict[str, str],
    status_code: int = 200,
) -> Response:
    lang = request_language(request)
    participant = _on_caseload(session, user, participant_id)
    item = _agreement_view(session, participant_id, agreement_id)
    row = item["row"]
    return render(
        request,
        "caseworker/agreement.html",
        {
            "page_title": translate(lang, "casework.agreement.title", name=row.description),
            "participant": participant,
            "row": row,
            "is_income": row.direction != DIRECTION_FIXED_COST,
            "schedule": schedule_text(item["agreement"].schedule, lang),
            "errors": errors,
            "form": form,
            "flash": None,
            "navigation": NAVIGATION,
            "active": "participant",
        },
        principal=user,
        status_code=status_code,
    )


@router.get("/deelnemer/{participant_id}/afspraak/{agreement_id}")
def agreement_page(
    request: Request,
    user: Caseworker,
    session: DbSession,
    participant_id: ItemId,
    agreement_id: ItemId,
) -> Response:
    return _page(request, user, session, participant_id, agreement_id, errors={}, form={})


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _change(
    action: str, fields: dict[str, str], row: Agreement, today: dt.date, lang: str
) -> tuple[AgreementChange | None, dict[str, str]]:
    """The change the form asks for, or the errors in plain Dutch (or English)."""
    errors: dict[str, str] = {}
    if action not in ACTIONS:
        return None, {"actie": translate(lang, "casework.agreement.error_action")}
    day = _date(fields.get("datum", ""))
    if day is None:
        errors["datum"] = translate(lang, "casework.agreement.error_date")
    elif day < today:
        errors["datum"] = translate(lang, "casework.agreement.error_past")
    elif day > today + dt.timedelta(days=EFFECTIVE_DAYS_AHEAD_MAX):
        errors["datum"] = translate(
            lang,
            "casework.agreement.error_too_far",
            date=date_medium(today + dt.timedelta(days=EFFECTIVE_DAYS_AHEAD_MAX), lang),
        )
    elif action == "einde" and day < row.start_date:
        errors["datum"] = translate(
            lang,
            "casework.agreement.error_end_before_start",
            date=date_medium(row.start_date, lang),
        )
    elif action == "vervolg" and day <= row.start_date:
        errors["datum"] = translate(
            lang, "casework.agreement.error_follow_up_start", date=date_medium(row.start_date, lang)
        )
    cents: int | None = None
    if action != "einde":
        cents = parse_amount(fields.get("bedrag", ""))
        if cents is None or cents <= 0:
            errors["bedrag"] = translate(lang, "casework.agreement.error_amount")
    if not fields.get("reden", "").strip():
        errors["reden"] = translate(lang, "casework.agreement.error_reason")
    if errors or day is None:
        return None, errors
    if action == "einde":
        return AgreementEndChange(agreement_id=row.id, end_date=day), errors
    assert cents is not None
    if action == "vervolg":
        return AgreementFollowUpChange(
            agreement_id=row.id, amount_cents=cents, from_date=day
        ), errors
    return AgreementCopyChange(agreement_id=row.id, amount_cents=cents, from_date=day), errors


@router.post("/deelnemer/{participant_id}/afspraak/{agreement_id}", dependencies=[CsrfProtected])
def propose_agreement(
    request: Request,
    user: Caseworker,
    session: DbSession,
    participant_id: ItemId,
    agreement_id: ItemId,
    actie: Annotated[str, Form(max_length=10)] = "",
    bedrag: Annotated[str, Form(max_length=20)] = "",
    datum: Annotated[str, Form(max_length=10)] = "",
    reden: Annotated[str, Form(max_length=REASON_LENGTH_MAX)] = "",
) -> Response:
    """Propose a follow-up, a copy or an end; the participant decides in the app."""
    lang = request_language(request)
    _on_caseload(session, user, participant_id)
    row = _agreement_view(session, participant_id, agreement_id)["row"]
    fields = {"actie": actie, "bedrag": bedrag, "datum": datum, "reden": reden}
    today = page_today(request)
    change, errors = _change(actie, fields, row, today, lang)
    if change is not None:
        try:
            propose_agreement_change(
                session,
                user,
                participant_id,
                change,
                reason=reden,
                today=today,
                now=utcnow(),
                expiry_days=request.app.state.settings.proposal_expiry_days,
            )
        except Conflict as error:
            errors["form"] = error.detail
        except AppError as error:
            # The rules' own check (backend.plans.agreement_changes): nothing was stored.
            errors["form"] = translate(
                lang, "casework.agreement.error_refused", detail=error.detail
            )
    if errors:
        return _page(
            request,
            user,
            session,
            participant_id,
            agreement_id,
            errors=errors,
            form={**fields, "actie": actie},
            status_code=422,
        )
    return redirect(
        f"/hulpverlener/deelnemer/{participant_id}?gedaan=agreement_proposed#voorstellen"
    )
