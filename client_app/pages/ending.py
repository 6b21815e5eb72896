"""Stoppen met Huishoudboekje (ending participation, issues 8 and 12).

- /deelnemer/{id}/einde: the participant (and whoever may read their pages) sees
  whether an end is proposed, agreed or done; the open proposal with the usual
  approve / reject buttons (the proposal routes of the participant app); a form to
  ask for the end; and, once settled, the handover letter and the final statement.
- /deelnemer/{id}/einde/overdrachtsbrief.pdf and /eindafrekening.pdf: the documents.
- /hulpverlener/deelnemer/{id}/beeindigen: the caseworker proposes the end (date and
  reason) and sees the same status and documents.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from backend.access.policy import Party, Principal, ensure_can_act_for_participant
from backend.api.deps import DbSession
from backend.codecision import service as proposals_service
from backend.codecision.changes import EndParticipationChange
from backend.codecision.matrix import REASON_LENGTH_MAX, ChangeKind
from backend.ending.service import end_of
from backend.errors import NotFound
from backend.models import Participant, Proposal
from client_app.config import client_settings
from client_app.i18n import translate
from client_app.pages.caseworker import NAVIGATION as CASEWORKER_NAVIGATION
from client_app.pages.caseworker import Caseworker, ItemId
from client_app.pages.participant import ParticipantViewer, Viewer, _page
from client_app.pages.proposing import propose_or_refusal
from client_app.services.handover_pdf import final_statement_pdf, handover_letter_pdf
from client_app.web.rendering import page_today, redirect, render, request_language
from client_app.web.routing import CsrfProtected, PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)

DOCUMENTS = {
    "overdrachtsbrief": ("handover_letter", handover_letter_pdf),
    "eindafrekening": ("final_statement", final_statement_pdf),
}


def _status(session: Session, principal: Principal, participant_id: int) -> dict[str, Any]:
    """What the page shows: the agreed or settled end, and the open end proposal."""
    end = end_of(session, participant_id)
    open_proposal = session.scalar(
        select(Proposal)
        .where(
            Proposal.participant_id == participant_id,
            Proposal.kind == str(ChangeKind.END_PARTICIPATION),
            Proposal.status == "proposed",
        )
        .order_by(Proposal.id.desc())
        .limit(1)
    )
    actions = (
        proposals_service.available_actions(session, principal, open_proposal)
        if open_proposal is not None
        else ()
    )
    payouts = [
        {
            "source": payout["source"],
            "amount_cents": int(payout["amount_cents"]),
            "date": dt.date.fromisoformat(payout["execution_date"]),
        }
        for payout in ((end.handover or {}).get("payouts", []) if end is not None else [])
    ]
    return {
        "end": end,
        "open_proposal": open_proposal,
        "proposal_actions": actions,
        "payouts": payouts,
    }


def _form_errors(
    lang: str, end_date: str, reason: str, today: dt.date
) -> tuple[dict[str, str], dt.date | None]:
    errors: dict[str, str] = {}
    day: dt.date | None = None
    try:
        day = dt.date.fromisoformat(end_date)
    except ValueError:
        errors["end_date"] = translate(lang, "ending.error.date")
    else:
        if day < today:
            errors["end_date"] = translate(lang, "ending.error.date_past")
    if not reason.strip():
        errors["reason"] = translate(lang, "ending.error.reason")
    return errors, day


def _propose(
    request: Request,
    session: Session,
    principal: Principal,
    participant_id: int,
    day: dt.date,
    reason: str,
    lang: str,
) -> dict[str, str]:
    """The end as a proposal; the refusal as a form error."""
    refusal = propose_or_refusal(
        request,
        session,
        principal,
        participant_id,
        change=EndParticipationChange(),
        reason=reason.strip(),
        effective_from=day,
    )
    if refusal is None:
        return {}
    return {"end_date": translate(lang, "ending.error.refused", detail=refusal.detail)}


# ---------------------------------------------------------------------- participant side


def _participant_page(
    request: Request,
    session: Session,
    who: Viewer,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    lang = request_language(request)
    context = _status(session, who.user, who.participant.id)
    context.update(
        {
            "page_title": translate(lang, "ending.heading"),
            "can_ask": who.party in (Party.PARTICIPANT, Party.CASEWORKER)
            and who.participant.status == "active"
            and context["end"] is None
            and context["open_proposal"] is None,
            "errors": errors or {},
            "form": form or {},
            "today": page_today(request),
            "reason_max": REASON_LENGTH_MAX,
        }
    )
    return _page(
        request,
        session,
        who,
        "participant/ending.html",
        "zelfregie",
        context,
        status_code=status_code,
    )


@router.get("/deelnemer/{participant_id}/einde")
def ending_page(request: Request, who: ParticipantViewer, session: DbSession) -> Response:
    return _participant_page(request, session, who)


@router.post("/deelnemer/{participant_id}/einde", dependencies=[CsrfProtected])
def ask_end(
    request: Request,
    who: ParticipantViewer,
    session: DbSession,
    end_date: Annotated[str, Form(max_length=10)] = "",
    reason: Annotated[str, Form(max_length=REASON_LENGTH_MAX)] = "",
) -> Response:
    """The participant (or their caseworker) asks for the end; the other party decides."""
    lang = request_language(request)
    ensure_can_act_for_participant(session, who.user, who.participant.id)
    errors, day = _form_errors(lang, end_date, reason, page_today(request))
    if not errors and day is not None:
        errors = _propose(request, session, who.user, who.participant.id, day, reason, lang)
    if errors:
        return _participant_page(
            request,
            session,
            who,
            errors=errors,
            form={"end_date": end_date, "reason": reason},
            status_code=422,
        )
    return redirect(f"{who.base}/einde?gedaan=proposal_sent")


@router.get("/deelnemer/{participant_id}/einde/overdrachtsbrief.pdf")
def handover_letter(request: Request, who: ParticipantViewer, session: DbSession) -> Response:
    """The handover letter, once the settlement is booked."""
    return _document(request, who, session, "overdrachtsbrief")


@router.get("/deelnemer/{participant_id}/einde/eindafrekening.pdf")
def final_statement(request: Request, who: ParticipantViewer, session: DbSession) -> Response:
    """The final statement, once the settlement is booked."""
    return _document(request, who, session, "eindafrekening")


def _document(request: Request, who: Viewer, session: Session, document: str) -> Response:
    found = DOCUMENTS.get(document)
    end = end_of(session, who.participant.id)
    if found is None or end is None or end.status != "settled":
        raise NotFound("this document does not exist (yet)")
    lang = request_language(request)
    _, render_pdf = found
    content = render_pdf(
        end.handover,
        name=who.participant.display_name,
        lang=lang,
        municipality=client_settings().municipality_name,
        made_on=page_today(request),
    )
    return Response(
        content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{document}-{who.participant.id}.pdf"',
            "Cache-Control": "no-store",
        },
    )


# ---------------------------------------------------------------------- caseworker side


def _caseworker_page(
    request: Request,
    session: Session,
    user: Principal,
    participant: Participant,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    lang = request_language(request)
    context = _status(session, user, participant.id)
    flash_key = request.query_params.get("gedaan")
    context.update(
        {
            "page_title": translate(lang, "ending.caseworker.title", name=participant.display_name),
            "participant": participant,
            "can_propose": participant.status == "active"
            and context["end"] is None
            and context["open_proposal"] is None,
            "errors": errors or {},
            "form": form or {},
            "today": page_today(request),
            "reason_max": REASON_LENGTH_MAX,
            "navigation": CASEWORKER_NAVIGATION,
            "active": "queue",
            "flash": translate(lang, "flash.proposal_sent")
            if flash_key == "proposal_sent"
            else None,
        }
    )
    return render(
        request, "caseworker/ending.html", context, principal=user, status_code=status_code
    )


def _on_caseload(session: Session, user: Principal, participant_id: int) -> Participant:
    participant, _ = ensure_can_act_for_participant(
        session, user, participant_id, parties=frozenset({Party.CASEWORKER})
    )
    return participant


@router.get("/hulpverlener/deelnemer/{participant_id}/beeindigen")
def caseworker_ending(
    request: Request, user: Caseworker, session: DbSession, participant_id: ItemId
) -> Response:
    participant = _on_caseload(session, user, participant_id)
    return _caseworker_page(request, session, user, participant)


@router.post("/hulpverlener/deelnemer/{participant_id}/beeindigen", dependencies=[CsrfProtected])
def caseworker_propose_end(
    request: Request,
    user: Caseworker,
    session: DbSession,
    participant_id: ItemId,
    end_date: Annotated[str, Form(max_length=10)] = "",
    reason: Annotated[str, Form(max_length=REASON_LENGTH_MAX)] = "",
) -> Response:
    """Deelname beëindigen: a proposal the participant approves in the app."""
    lang = request_language(request)
    participant = _on_caseload(session, user, participant_id)
    errors, day = _form_errors(lang, end_date, reason, page_today(request))
    if not errors and day is not None:
        errors = _propose(request, session, user, participant_id, day, reason, lang)
    if errors:
        return _caseworker_page(
            request,
            session,
            user,
            participant,
            errors=errors,
            form={"end_date": end_date, "reason": reason},
            status_code=422,
        )
    return redirect(f"/hulpverlener/deelnemer/{participant_id}/beeindigen?gedaan=proposal_sent")


# Money after the end (backend.ending.followup): the caseworker records the account an
# ended participant uses now, when a payout to the old one came back.
@router.post(
    "/hulpverlener/deelnemer/{participant_id}/nabetaling-rekening", dependencies=[CsrfProtected]
)
def caseworker_new_own_iban(
    user: Caseworker,
    session: DbSession,
    participant_id: ItemId,
    own_iban: Annotated[str, Form(max_length=50)] = "",
) -> Response:
    from backend.ending.followup import record_new_own_iban

    record_new_own_iban(session, user, participant_id, own_iban)
    return redirect(f"/hulpverlener/deelnemer/{participant_id}?gedaan=followup_iban_saved#signalen")
