"""A minimal caseworker page (/hulpverlener), until the caseworker dashboard exists.

What the participant app needs from the other side, and no more: emergency
requests on top (with "gezien"), proposals waiting for the caseworker (approve or
reject, through the participant's proposal routes), life events to acknowledge,
and writing a message to a participant. The full work-by-exception dashboard
(issue 8) replaces this page; it can reuse the routes and templates here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from backend.access.dependencies import ID_MAX
from backend.access.policy import (
    Party,
    Principal,
    caseload_participant_ids,
    ensure_can_act_for_participant,
    require_role,
)
from backend.access.roles import Role
from backend.api.deps import DbSession
from backend.codecision import service as proposals_service
from backend.codecision import signals
from backend.codecision.changes import ExtraPayoutChange, parse_change
from backend.codecision.matrix import EMERGENCY_REASON_LENGTH_MIN
from backend.codecision.matrix import REASON_LENGTH_MAX as PROPOSAL_REASON_LENGTH_MAX
from backend.errors import Conflict, InvalidInput, NotFound
from backend.models import (
    Agreement,
    Alert,
    EmergencyRequest,
    LifeEvent,
    Participant,
    Proposal,
)
from backend.models.base import utcnow
from backend.plans import plan_history
from backend.plans.one_off import emergency_payout_cap_cents
from backend.zelfregie import self_payment
from client_app.formatting import money, parse_amount
from client_app.i18n import translate
from client_app.pages.participant import FLASHES
from client_app.pages.proposing import propose
from client_app.pages.staff import (
    PAGE_SIZES,
    Paging,
    filter_form,
    page_link,
    page_number,
    page_size,
    remembered_filters,
)
from client_app.services import messages as messages_service
from client_app.services.movements import movements as load_movements
from client_app.services.plan_text import change_text, plan_summary
from client_app.services.state import forecast, money_view, next_living_money
from client_app.staff_models import (
    NOTE_LENGTH_MAX,
    OUTCOME_LENGTH_MAX,
    TOPICS_LENGTH_MAX,
    ParticipantNote,
    ReviewConversation,
)
from client_app.staff_models import REASON_LENGTH_MAX as NOTE_REASON_LENGTH_MAX
from client_app.web.rendering import page_today, redirect, render, request_language
from client_app.web.routing import CsrfProtected, PageRoute, PageUser

router = APIRouter(prefix="/hulpverlener", route_class=PageRoute, include_in_schema=False)

MESSAGE_LENGTH_MAX = 2000
CASEWORKER_FLASHES = FLASHES | {
    "emergency_seen",
    "life_event_seen",
    "message_sent",
    "alert_resolved",
    "note_added",
    "review_planned",
    "review_recorded",
    "agreement_proposed",  # follow up / copy / end an agreement (casework_agreements)
    "initial_plan_proposed",  # the first plan proposed again (client_app.pages.onboarding)
    "followup_iban_saved",  # money after the end: the new own account (client_app.pages.ending)
    "payout_granted",  # one-off extra payout from an emergency (backend.plans.one_off)
}
NAVIGATION = (
    ("queue", "/hulpverlener", "caseworker.nav.queue"),
    ("onboarding", "/hulpverlener/aanmelden", "onboarding.nav"),  # Aanmelden (issue 8)
)


def caseworker(user: PageUser) -> Principal:
    require_role(user, Role.CASEWORKER)
    return user


Caseworker = Annotated[Principal, Depends(caseworker)]


QUEUE_FILTERS: dict[str, tuple[str, ...]] = {"toon": ("werk", "alle"), "per": PAGE_SIZES}

# Urgency: lower comes first. Alert kinds are the engine's (rules.AlertKind) and
# payments' ("payment.returned", "payment.rejected").
URGENCY = {
    "emergency": 0,
    "arrears": 1,
    "income_missing": 2,
    "income_amount_unexpected": 2,
    "payment.returned": 3,
    "payment.rejected": 3,
    "self_payment_missed": 3,  # zelfregie step 3: was the bill paid? (issue 12)
    # One-off payouts and returned handovers (backend.plans.one_off, rules engine).
    "one_off_payout_short": 1,
    "handover_returned": 3,
    "exit.followup_blocked": 3,  # money after the end, own IBAN sent it back (ending)
    "buffer_used": 4,
    "buffer_below_target": 4,
    "living_money_below_agreed": 4,
    "proposal": 5,
    "life_event": 6,
    "review": 6,
    "advance_not_repaid": 7,
}
URGENCY_OTHER = 8


@dataclass
class QueueItem:
    urgency: int
    kind: str
    participant_id: int
    created_at: dt.datetime
    data: Any


def _in_caseload(session: Session, ids: list[int], query: Any) -> list[Any]:
    return list(session.scalars(query)) if ids else []


def _as_utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


@router.get("")
def queue(request: Request, user: Caseworker, session: DbSession) -> Response:
    """Werkvoorraad: what needs a person, most urgent first, each with its one action."""
    lang = request_language(request)
    filters = remembered_filters(request, user, "queue", QUEUE_FILTERS, session)
    show_all = filters.get("toon") == "alle"
    ids = sorted(caseload_participant_ids(session, user.user_id))
    participants = {
        participant.id: participant
        for participant in _in_caseload(
            session,
            ids,
            select(Participant).where(Participant.id.in_(ids)).order_by(Participant.display_name),
        )
    }
    items: list[QueueItem] = []
    for emergency in _in_caseload(
        session,
        ids,
        select(EmergencyRequest).where(
            EmergencyRequest.participant_id.in_(ids), EmergencyRequest.acknowledged_at.is_(None)
        ),
    ):
        items.append(
            QueueItem(0, "emergency", emergency.participant_id, emergency.created_at, emergency)
        )
    for alert in _in_caseload(
        session,
        ids,
        select(Alert).where(Alert.participant_id.in_(ids), Alert.resolved_at.is_(None)),
    ):
        urgency = URGENCY.get(alert.kind, URGENCY_OTHER)
        items.append(
            QueueItem(urgency, "alert", alert.participant_id or 0, alert.created_at, alert)
        )
    now = utcnow()
    # One query over the caseload finds whose proposals are due to expire; expiring
    # participant by participant cost 200 queries per view (docs/performance.md).
    due_ids = _in_caseload(
        session,
        ids,
        select(Proposal.participant_id)
        .where(
            Proposal.participant_id.in_(ids),
            Proposal.status == proposals_service.OPEN,
            Proposal.expires_at <= now,
        )
        .distinct(),
    )
    for participant_id in sorted(due_ids):
        proposals_service.expire_due(session, now=now, participant_id=participant_id)
    names: dict[int, str] = {}
    if ids:
        names = {
            int(row_id): str(description)
            for row_id, description in session.execute(
                select(Agreement.id, Agreement.description).where(Agreement.participant_id.in_(ids))
            )
        }
    for proposal in _in_caseload(
        session,
        ids,
        select(Proposal).where(Proposal.participant_id.in_(ids), Proposal.status == "proposed"),
    ):
        actions = proposals_service.available_actions(session, user, proposal)
        view = {
            "proposal": proposal,
            "text": change_text(parse_change(proposal.kind, proposal.payload), lang, names),
            "actions": actions,
        }
        items.append(QueueItem(5, "proposal", proposal.participant_id, proposal.created_at, view))
    for event in _in_caseload(
        session,
        ids,
        select(LifeEvent).where(
            LifeEvent.participant_id.in_(ids), LifeEvent.acknowledged_at.is_(None)
        ),
    ):
        items.append(QueueItem(6, "life_event", event.participant_id, event.created_at, event))
    today = page_today(request)
    for review in _in_caseload(
        session,
        ids,
        select(ReviewConversation).where(
            ReviewConversation.participant_id.in_(ids),
            ReviewConversation.outcome.is_(None),
            ReviewConversation.planned_on <= today,
        ),
    ):
        items.append(QueueItem(6, "review", review.participant_id, review.created_at, review))
    items.sort(key=lambda item: (item.urgency, _as_utc(item.created_at)))
    # Paging: the page size is remembered with the filters (issue 8).
    paging = Paging(page_number(request), page_size(filters), len(items))
    all_items, items = items, items[paging.offset : paging.offset + paging.size]
    busy = {item.participant_id for item in all_items}
    quiet = [participant for pid, participant in participants.items() if pid not in busy]
    flash_key = request.query_params.get("gedaan")
    return render(
        request,
        "caseworker/queue.html",
        {
            "page_title": translate(lang, "caseworker.title"),
            "items": items,
            "participant_names": {pid: p.display_name for pid, p in participants.items()},
            "quiet": quiet,
            "show_all": show_all,
            "paging": paging,
            "previous_link": page_link("/hulpverlener", filters, paging.page - 1),
            "next_link": page_link("/hulpverlener", filters, paging.page + 1),
            "list_filters": filter_form(
                "/hulpverlener",
                filters,
                [
                    (
                        "toon",
                        translate(lang, "staff.filters.queue_show"),
                        [
                            ("werk", translate(lang, "staff.filters.queue_work")),
                            ("alle", translate(lang, "staff.filters.queue_all")),
                        ],
                        "werk",
                    )
                ],
                lang=lang,
            ),
            "caseload_size": len(participants),
            "flash": translate(lang, f"flash.{flash_key}")
            if flash_key in CASEWORKER_FLASHES
            else None,
            "navigation": NAVIGATION,
            "active": "queue",
            "payout_cap_cents": emergency_payout_cap_cents(),  # backend.plans.one_off
        },
        principal=user,
    )


ItemId = Annotated[int, Path(ge=1, le=ID_MAX)]


@router.post(
    "/deelnemer/{participant_id}/noodmelding/{request_id}/gezien", dependencies=[CsrfProtected]
)
def emergency_seen(
    user: Caseworker, session: DbSession, participant_id: ItemId, request_id: ItemId
) -> Response:
    found = signals.get_emergency(session, participant_id, request_id)
    signals.acknowledge(session, user, found, now=utcnow())
    return redirect("/hulpverlener?gedaan=emergency_seen")


# One-off extra payout after the emergency button (backend.plans.one_off).
def _payout_refused(
    request: Request, user: Principal, message: str, status_code: int = 422
) -> Response:
    """The error page with the reason in the caseworker's language (the generic error
    page only shows details in English); nothing was stored."""
    return render(
        request,
        "error.html",
        {"status_code": status_code, "message": message, "detail": None},
        principal=user,
        status_code=status_code,
    )


@router.post(
    "/deelnemer/{participant_id}/noodmelding/{request_id}/noodbetaling",
    dependencies=[CsrfProtected],
)
def emergency_payout(
    request: Request,
    user: Caseworker,
    session: DbSession,
    participant_id: ItemId,
    request_id: ItemId,
    bedrag: Annotated[str, Form(max_length=30)] = "",
    reden: Annotated[str, Form(max_length=PROPOSAL_REASON_LENGTH_MAX)] = "",
) -> Response:
    """Help after the emergency button: a one-off extra payout on the emergency path
    (co-decision `extra_payout`, backend.plans.one_off), paid by the next daily cycle."""
    lang = request_language(request)
    _on_caseload(session, user, participant_id)
    signals.get_emergency(session, participant_id, request_id)
    handled = translate(lang, "payout.error.handled")
    cents = parse_amount(bedrag)
    cap = emergency_payout_cap_cents()
    if cents is None or not 0 < cents <= cap:
        message = translate(lang, "payout.error.amount", cap=money(cap, lang))
        return _payout_refused(request, user, message)
    if len(reden.strip()) < EMERGENCY_REASON_LENGTH_MIN:
        message = translate(lang, "payout.error.reason", count=str(EMERGENCY_REASON_LENGTH_MIN))
        return _payout_refused(request, user, message)
    try:
        propose(
            request,
            session,
            user,
            participant_id,
            # Tied to the request: a second click (or a re-sent form) pays nothing more.
            change=ExtraPayoutChange(amount_cents=cents, emergency_request_id=request_id),
            reason=reden.strip(),
            emergency=True,
        )
    except Conflict as error:
        if not error.extra.get("already_handled"):
            raise
        if error.extra.get("open_proposal_id"):
            handled = translate(lang, "payout.error.asked_already")
        return _payout_refused(request, user, handled, status_code=409)
    except InvalidInput as error:
        waiting = error.extra.get("payouts_waiting")
        if isinstance(waiting, int):
            message = translate(lang, "payout.error.waiting", count=str(waiting))
            return _payout_refused(request, user, message)
        short = error.extra.get("short_cents")
        if not isinstance(short, int):
            raise
        room = int(error.extra.get("room_cents", 0))
        message = translate(
            lang, "payout.error.short", short=money(short, lang), room=money(room, lang)
        )
        return _payout_refused(request, user, message)
    return redirect("/hulpverlener?gedaan=payout_granted")


@router.post(
    "/deelnemer/{participant_id}/gebeurtenis/{event_id}/gezien", dependencies=[CsrfProtected]
)
def life_event_seen(
    user: Caseworker, session: DbSession, participant_id: ItemId, event_id: ItemId
) -> Response:
    found = signals.get_life_event(session, participant_id, event_id)
    signals.acknowledge(session, user, found, now=utcnow())
    return redirect("/hulpverlener?gedaan=life_event_seen")


@router.post("/deelnemer/{participant_id}/bericht", dependencies=[CsrfProtected])
def write(
    user: Caseworker,
    session: DbSession,
    participant_id: ItemId,
    text: Annotated[str, Form(max_length=MESSAGE_LENGTH_MAX)] = "",
) -> Response:
    ensure_can_act_for_participant(
        session, user, participant_id, parties=frozenset({Party.CASEWORKER})
    )
    if text.strip():
        messages_service.write_message(
            session,
            participant_id=participant_id,
            author_user_id=user.user_id,
            author_name=user.display_name,
            text=text,
            now=utcnow(),
        )
    return redirect(f"/hulpverlener/deelnemer/{participant_id}?gedaan=message_sent")


# ---------------------------------------------------------------------- Deelnemer


def _on_caseload(session: Session, user: Principal, participant_id: int) -> Participant:
    """404 outside the caseload (the policy layer), 403 for a household member."""
    participant, _party = ensure_can_act_for_participant(
        session, user, participant_id, parties=frozenset({Party.CASEWORKER})
    )
    return participant


@router.get("/deelnemer/{participant_id}")
def participant_page(
    request: Request, user: Caseworker, session: DbSession, participant_id: ItemId
) -> Response:
    """Deelnemer: money, buffer, forecast, ledger, plan versions, proposals, life events,
    alerts, notes and review conversations of one participant on the caseload."""
    lang = request_language(request)
    participant = _on_caseload(session, user, participant_id)
    today = page_today(request)
    view = money_view(session, participant_id, today)
    result = forecast(view)
    rows = load_movements(session, participant_id, limit=15).rows
    history = plan_history(session, participant_id)
    proposals, _total = proposals_service.list_for_participant(
        session, participant_id, status=None, limit=20, offset=0, now=utcnow()
    )
    agreement_names = {
        int(row_id): str(description)
        for row_id, description in session.execute(
            select(Agreement.id, Agreement.description).where(
                Agreement.participant_id == participant_id
            )
        )
    }
    proposal_views = [
        {
            "proposal": proposal,
            "text": change_text(
                parse_change(proposal.kind, proposal.payload), lang, agreement_names
            ),
            "actions": proposals_service.available_actions(session, user, proposal),
        }
        for proposal in proposals
    ]
    flash_key = request.query_params.get("gedaan")
    return render(
        request,
        "caseworker/participant.html",
        {
            "page_title": translate(
                lang, "caseworker.participant.title", name=participant.display_name
            ),
            "participant": participant,
            "view": view,
            "balances": view.balances,
            "filled_until": result.filled_until if result else None,
            "payout": next_living_money(result),
            "months": _forecast_months(result),
            "rows": rows,
            "history": history,
            "plan_lines": plan_summary(view.plan.plan, lang, on=today) if view.plan else None,
            "proposals": proposal_views,
            "life_events": signals.list_life_events(session, participant_id, limit=20, offset=0),
            "alerts": list(
                session.scalars(
                    select(Alert)
                    .where(Alert.participant_id == participant_id)
                    .order_by(Alert.id.desc())
                    .limit(20)
                )
            ),
            "notes": list(
                session.scalars(
                    select(ParticipantNote)
                    .where(ParticipantNote.participant_id == participant_id)
                    .order_by(ParticipantNote.created_at.desc(), ParticipantNote.id.desc())
                )
            ),
            "reviews": list(
                session.scalars(
                    select(ReviewConversation)
                    .where(ReviewConversation.participant_id == participant_id)
                    .order_by(ReviewConversation.planned_on.desc())
                )
            ),
            "errors": {},
            # Follow up / copy / end an agreement (client_app.pages.casework_agreements).
            "agreement_rows": current_agreements(session, participant_id),
            # Zelfregie step 3: bills the participant pays themselves ("Bevestig betaald").
            "self_paid_bills": self_payment.self_paid_bills(session, participant_id, today),
            # Onboarding loose ends: a new activation code, the first plan proposed again.
            "onboarding_followup": onboarding_followup(session, participant_id, today),
            # Money after the end waits: the own IBAN sent a payout back (backend.ending).
            "followup_blocked": followup_blocked(session, participant_id),
            "flash": translate(lang, f"flash.{flash_key}")
            if flash_key in CASEWORKER_FLASHES
            else None,
            "navigation": NAVIGATION,
            "active": "participant",
        },
        principal=user,
    )


def followup_blocked(session: Session, participant_id: int) -> list[Any]:
    from backend.ending.followup import blocked_alerts

    return blocked_alerts(session, participant_id)


def onboarding_followup(session: Session, participant_id: int, today: dt.date) -> dict[str, Any]:
    from client_app.pages.onboarding import followup_context

    return followup_context(session, participant_id, today)


def current_agreements(session: Session, participant_id: int) -> list[dict[str, Any]]:
    from client_app.pages.casework_agreements import current_agreements as agreements

    return agreements(session, participant_id)


def _forecast_months(result: Any) -> list[dict[str, Any]]:
    if result is None:
        return []
    months: dict[dt.date, dict[str, Any]] = {}
    for day in result.days:
        first = day.day.replace(day=1)
        month = months.setdefault(
            first, {"first_day": first, "income": 0, "fixed": 0, "living": 0, "alerts": 0}
        )
        month["income"] += day.income_cents
        month["fixed"] += sum(payment.amount_cents for payment in day.fixed_cost_payments)
        month["living"] += day.living_money_cents
        month["alerts"] += len(day.alerts)
    return list(months.values())


@router.post(
    "/deelnemer/{participant_id}/signaal/{alert_id}/afgehandeld", dependencies=[CsrfProtected]
)
def resolve_alert(
    user: Caseworker, session: DbSession, participant_id: ItemId, alert_id: ItemId
) -> Response:
    _on_caseload(session, user, participant_id)
    alert = session.get(Alert, alert_id)
    if alert is None or alert.participant_id != participant_id:
        raise NotFound(f"alert {alert_id} was not found")
    if alert.resolved_at is None:
        alert.resolved_at = utcnow()
        alert.resolved_by = user.username
    return redirect("/hulpverlener?gedaan=alert_resolved")


@router.post("/deelnemer/{participant_id}/notitie", dependencies=[CsrfProtected])
def add_note(
    request: Request,
    user: Caseworker,
    session: DbSession,
    participant_id: ItemId,
    tekst: Annotated[str, Form(max_length=NOTE_LENGTH_MAX)] = "",
    intern: Annotated[str, Form(max_length=5)] = "",
    reden: Annotated[str, Form(max_length=NOTE_REASON_LENGTH_MAX)] = "",
) -> Response:
    """A note; the participant sees it unless it is internal, and internal needs a reason."""
    lang = request_language(request)
    _on_caseload(session, user, participant_id)
    internal = intern == "ja"
    if not tekst.strip():
        raise InvalidInput(translate(lang, "caseworker.notes.error_text"))
    if internal and not reden.strip():
        raise InvalidInput(translate(lang, "caseworker.notes.error_reason"))
    session.add(
        ParticipantNote(
            participant_id=participant_id,
            author_user_id=user.user_id,
            author_name=user.display_name,
            text=tekst.strip(),
            internal=internal,
            internal_reason=" ".join(reden.split()) if internal else None,
        )
    )
    return redirect(f"/hulpverlener/deelnemer/{participant_id}?gedaan=note_added#notities")


@router.post("/deelnemer/{participant_id}/kantelgesprek", dependencies=[CsrfProtected])
def plan_review(
    request: Request,
    user: Caseworker,
    session: DbSession,
    participant_id: ItemId,
    datum: Annotated[str, Form(max_length=10)] = "",
    onderwerpen: Annotated[str, Form(max_length=TOPICS_LENGTH_MAX)] = "",
) -> Response:
    """Plan a kantelgesprek (review conversation): date and topics."""
    lang = request_language(request)
    _on_caseload(session, user, participant_id)
    try:
        planned_on = dt.date.fromisoformat(datum)
    except ValueError:
        raise InvalidInput(translate(lang, "caseworker.review.error_date")) from None
    if not onderwerpen.strip():
        raise InvalidInput(translate(lang, "caseworker.review.error_topics"))
    session.add(
        ReviewConversation(
            participant_id=participant_id,
            planned_on=planned_on,
            topics=onderwerpen.strip(),
            created_by_user_id=user.user_id,
            created_by_name=user.display_name,
        )
    )
    return redirect(f"/hulpverlener/deelnemer/{participant_id}?gedaan=review_planned#kantelgesprek")


@router.post(
    "/deelnemer/{participant_id}/kantelgesprek/{review_id}/uitkomst", dependencies=[CsrfProtected]
)
def record_review(
    request: Request,
    user: Caseworker,
    session: DbSession,
    participant_id: ItemId,
    review_id: ItemId,
    uitkomst: Annotated[str, Form(max_length=OUTCOME_LENGTH_MAX)] = "",
) -> Response:
    """The outcome of a kantelgesprek; a change that follows is made as a proposal."""
    lang = request_language(request)
    _on_caseload(session, user, participant_id)
    review = session.get(ReviewConversation, review_id)
    if review is None or review.participant_id != participant_id:
        raise NotFound(f"review conversation {review_id} was not found")
    if not uitkomst.strip():
        raise InvalidInput(translate(lang, "caseworker.review.error_outcome"))
    review.outcome = uitkomst.strip()
    review.held_at = utcnow()
    return redirect(
        f"/hulpverlener/deelnemer/{participant_id}?gedaan=review_recorded#kantelgesprek"
    )
