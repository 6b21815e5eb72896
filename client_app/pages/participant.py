"""The participant's pages: /deelnemer/{participant_id}/...

Every page is scoped by the policy layer (backend.access.policy): the
participant's own household or a caseworker's caseload; anyone else gets the
404 page, exactly as for a participant that does not exist. Forms that act
(proposals, decisions, life events, the emergency button) are checked again by
the co-decision services (403 for the wrong party). Reading a page never needs
more than the participant's id from the URL.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from backend.access.dependencies import ID_MAX
from backend.access.policy import (
    Party,
    Principal,
    ensure_can_act_for_participant,
    ensure_can_read_participant,
    party_for,
)
from backend.api.deps import DbSession
from backend.codecision import service as proposals_service
from backend.codecision import signals
from backend.codecision.changes import (
    ExtraPayoutChange,
    FixedCostAmountChange,
    LivingMoneyAmountChange,
    LivingMoneyScheduleChange,
    PlanChange,
    parse_change,
)
from backend.codecision.matrix import REASON_LENGTH_MAX
from backend.codecision.signals import EmergencyKind, LifeEventKind
from backend.errors import Conflict, NotFound
from backend.models import (
    Agreement,
    CaseloadAssignment,
    Household,
    Participant,
    Proposal,
    UserAccount,
)
from backend.models.base import utcnow
from backend.payments import open_alerts
from client_app.config import client_settings
from client_app.formatting import months_of_costs, parse_amount
from client_app.i18n import translate
from client_app.pages import proposing
from client_app.services import casework_notes
from client_app.services import messages as messages_service
from client_app.services.export import personal_data_export, personal_data_pdf
from client_app.services.movements import PAGE_SIZE_DEFAULT, MovementKind, months_with_movements
from client_app.services.movements import movements as load_movements
from client_app.services.pdf import period_title, statement_pdf
from client_app.services.plan_text import change_text, plan_summary
from client_app.services.state import (
    agreement_names,
    money_view,
    next_living_money,
    view_with_forecast,
)
from client_app.services.statements import Period, build_statement, statement_periods
from client_app.web.rendering import page_today, redirect, render, request_language
from client_app.web.routing import CsrfProtected, PageRoute, PageUser

router = APIRouter(
    prefix="/deelnemer/{participant_id}", route_class=PageRoute, include_in_schema=False
)

NOTE_LENGTH_MAX = 1000
PROPOSAL_HISTORY_MAX = 10
SIGNALS_SHOWN_MAX = 20
SOON = dt.timedelta(days=31)  # the day-by-day list shows this far; the rest folds away

# (page id, path below /deelnemer/{id}, catalogue key): the navigation, in order.
NAVIGATION = (
    ("overview", "overzicht", "nav.overview"),
    ("transactions", "transacties", "nav.transactions"),
    ("forecast", "wat-komt-eraan", "nav.forecast"),
    ("agreements", "afspraken", "nav.agreements"),
    ("messages", "berichten", "nav.messages"),
    ("statements", "overzichten", "nav.statements"),
    ("life_events", "iets-veranderd", "nav.life_events"),
    ("zelfregie", "zelf-doen", "nav.zelfregie"),
    ("details", "gegevens", "nav.details"),
    ("emergency", "noodknop", "nav.emergency"),
)
# Flash messages after a form (?gedaan=...): only these keys, never free text.
FLASHES = frozenset(
    {
        "proposal_sent",
        "proposal_approved",
        "proposal_rejected",
        "proposal_withdrawn",
        "life_event_sent",
        "emergency_sent",
        "goal_created",
        "set_aside",
        "withdrawn",
        "step_asked",
        "selfpay_confirmed",  # zelfregie step 3: a self-paid bill marked paid
    }
)

ParticipantId = Annotated[int, Path(ge=1, le=ID_MAX)]


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who looks at whose pages, and as which party (None: a household member)."""

    participant: Participant
    user: Principal
    party: Party | None

    @property
    def base(self) -> str:
        return f"/deelnemer/{self.participant.id}"

    @property
    def is_self(self) -> bool:
        return self.party is Party.PARTICIPANT

    @property
    def ended(self) -> bool:
        """Participation ended (backend.ending): read-only, buttons to change are hidden."""
        return self.participant.status == "ended"


def viewer(participant_id: ParticipantId, user: PageUser, session: DbSession) -> Viewer:
    participant = ensure_can_read_participant(session, user, participant_id)
    return Viewer(participant, user, party_for(session, user, participant.id))


ParticipantViewer = Annotated[Viewer, Depends(viewer)]


def _page(
    request: Request,
    session: Session,
    who: Viewer,
    template: str,
    active: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
) -> Response:
    lang = request_language(request)
    flash_key = request.query_params.get("gedaan")
    full = {
        "participant": who.participant,
        "viewer": who,
        "base": who.base,
        "navigation": NAVIGATION,
        "active": active,
        "unread": messages_service.unread_count(
            session, who.participant.id, include_personal=who.party is not None
        ),
        "flash": translate(lang, f"flash.{flash_key}") if flash_key in FLASHES else None,
        "page_title": translate(lang, {page: key for page, _, key in NAVIGATION}[active]),
    }
    full.update(context)
    return render(request, template, full, principal=who.user, status_code=status_code)


# ---------------------------------------------------------------------- Overzicht


def _bar_step(buffer_cents: int, target_cents: int) -> int:
    if target_cents <= 0:
        return 100 if buffer_cents > 0 else 0
    return min(100, max(0, buffer_cents) * 10 // target_cents * 10)


def _waiting_proposals(session: Session, who: Viewer) -> list[dict[str, Any]]:
    items, _ = proposals_service.list_for_participant(
        session, who.participant.id, status="proposed", limit=50, offset=0, now=utcnow()
    )
    return [
        {"proposal": item, "actions": proposals_service.available_actions(session, who.user, item)}
        for item in items
    ]


@router.get("/overzicht")
def overview(request: Request, who: ParticipantViewer, session: DbSession) -> Response:
    lang = request_language(request)
    today = page_today(request)
    view, result = view_with_forecast(session, who.participant.id, today)
    waiting = [item for item in _waiting_proposals(session, who) if "approve" in item["actions"]]
    alerts = [
        alert
        for alert in open_alerts(session, participant_id=who.participant.id)
        if alert.kind in messages_service.RESIDENT_ALERTS
    ]
    emergencies = (  # not for a household member: see _emergency_page
        signals.list_emergencies(session, who.participant.id, limit=5, offset=0)
        if who.party is not None
        else []
    )
    return _page(
        request,
        session,
        who,
        "participant/overview.html",
        "overview",
        {
            "view": view,
            "balances": view.balances,
            "buffer_months": months_of_costs(
                view.balances.buffer_cents, view.monthly_fixed_costs_cents, lang
            ),
            "buffer_target_months": months_of_costs(
                view.buffer_target_cents, view.monthly_fixed_costs_cents, lang
            ),
            "bar_step": _bar_step(view.balances.buffer_cents, view.buffer_target_cents),
            "payout": next_living_money(result),
            "filled_until": None if result is None else result.filled_until,
            "waiting": waiting,
            "alerts": alerts,
            "open_emergencies": [e for e in emergencies if e.acknowledged_at is None],
        },
    )


# ---------------------------------------------------------------------- Transacties


@router.get("/transacties")
def transactions(request: Request, who: ParticipantViewer, session: DbSession) -> Response:
    params = request.query_params
    months = months_with_movements(session, who.participant.id)
    month = params.get("maand") or None
    if month not in months:
        month = None
    kind_text = params.get("soort") or None
    kind = MovementKind(kind_text) if kind_text in set(MovementKind) else None
    cursor = params.get("na") or None
    page = load_movements(
        session,
        who.participant.id,
        limit=PAGE_SIZE_DEFAULT,
        cursor=cursor,
        month=month,
        kind=kind,
    )
    context = {
        "rows": page.rows,
        "next_cursor": page.next_cursor,
        "months": months,
        "month": month,
        "kind": kind.value if kind else None,
        "kinds": [item.value for item in MovementKind],
        "is_continuation": cursor is not None,
    }
    template = "participant/transactions.html"
    if (
        request.headers.get("hx-request") == "true"
        and request.headers.get("hx-target") == "movements"
    ):
        template = "participant/_movements.html"
    return _page(request, session, who, template, "transactions", context)


# ---------------------------------------------------------------------- Wat komt eraan


@dataclass
class MonthForecast:
    first_day: dt.date
    income_cents: int = 0
    fixed_costs_cents: int = 0
    living_money_cents: int = 0
    buffer_end_cents: int = 0
    partial: bool = False


@router.get("/wat-komt-eraan")
def coming(request: Request, who: ParticipantViewer, session: DbSession) -> Response:
    lang = request_language(request)
    today = page_today(request)
    view, result = view_with_forecast(session, who.participant.id, today)
    months: list[MonthForecast] = []
    items: list[dict[str, Any]] = []
    if result is not None and view.plan is not None:
        names = agreement_names(view.plan.plan, lang)
        by_month: dict[dt.date, MonthForecast] = {}
        for day in result.days:
            first = day.day.replace(day=1)
            month = by_month.get(first)
            if month is None:
                month = MonthForecast(first, partial=day.day.day != 1)
                by_month[first] = month
                months.append(month)
            month.income_cents += day.income_cents
            month.fixed_costs_cents += sum(p.amount_cents for p in day.fixed_cost_payments)
            month.living_money_cents += day.living_money_cents
            month.buffer_end_cents = day.buffer_cents
            incomes = _incomes_on(view.plan.plan, day.day, names) if day.income_cents else []
            for label, cents in incomes:
                items.append({"day": day.day, "direction": "in", "label": label, "cents": cents})
            for payment in day.fixed_cost_payments:
                items.append(
                    {
                        "day": day.day,
                        "direction": "out",
                        "label": translate(
                            lang,
                            "forecast.pay_fixed_cost",
                            name=names.get(payment.agreement_id, payment.agreement_id),
                            due=payment.due_date.strftime("%d-%m"),
                        ),
                        "cents": -payment.amount_cents,
                    }
                )
            if day.living_money_cents:
                items.append(
                    {
                        "day": day.day,
                        "direction": "out",
                        "label": translate(lang, "forecast.living_money"),
                        "cents": -day.living_money_cents,
                    }
                )
    return _page(
        request,
        session,
        who,
        "participant/forecast.html",
        "forecast",
        {
            "view": view,
            "result": result,
            "months": months,
            "items": [item for item in items if item["day"] <= today + SOON],
            "later_items": [item for item in items if item["day"] > today + SOON],
            "filled_until": None if result is None else result.filled_until,
        },
    )


def _incomes_on(plan: Any, day: dt.date, names: dict[str, str]) -> list[tuple[str, int]]:
    from rules import occurrences

    found = []
    for income in plan.incomes:
        if occurrences(income.schedule, day, day):
            found.append(
                (names.get(income.agreement_id, income.payer_name), income.expected_amount_cents)
            )
    return found


# ---------------------------------------------------------------------- Mijn afspraken


def _agreement_rows(session: Session, participant_id: int) -> tuple[dict[str, int], dict[int, str]]:
    """Row id per rules agreement id, and a readable name per row id (for proposals)."""
    rows = session.execute(
        select(
            Agreement.id, Agreement.plan_agreement_id, Agreement.description, Agreement.direction
        )
        .where(Agreement.participant_id == participant_id)
        .order_by(Agreement.id)
    )
    ids: dict[str, int] = {}
    names: dict[int, str] = {}
    for row_id, plan_agreement_id, description, _direction in rows:
        if plan_agreement_id:
            ids[plan_agreement_id] = row_id
        names[row_id] = description
    return ids, names


def _proposal_views(
    session: Session, who: Viewer, items: list[Proposal], names: dict[int, str], lang: str
) -> list[dict[str, Any]]:
    history = proposals_service.events_by_proposal(session, [item.id for item in items])
    people_ids = {item.proposed_by for item in items} | {
        event.actor_id for events in history.values() for event in events if event.actor_id
    }
    people: dict[int, str] = {}
    if people_ids:
        people = {
            int(user_id): str(name)
            for user_id, name in session.execute(
                select(UserAccount.id, UserAccount.display_name).where(
                    UserAccount.id.in_(sorted(people_ids))
                )
            )
        }
    views = []
    for item in items:
        change = parse_change(item.kind, item.payload)
        views.append(
            {
                "proposal": item,
                "text": change_text(change, lang, names),
                "by": people.get(item.proposed_by, "?"),
                "by_me": item.proposed_by == who.user.user_id,
                "actions": proposals_service.available_actions(session, who.user, item),
                "events": [
                    {"event": event, "by": people.get(event.actor_id or 0)}
                    for event in history.get(item.id, [])
                ],
            }
        )
    return views


def _agreements_page(
    request: Request,
    session: Session,
    who: Viewer,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    lang = request_language(request)
    today = page_today(request)
    view = money_view(session, who.participant.id, today, with_open_items=False)
    row_ids, names = _agreement_rows(session, who.participant.id)
    all_items, _ = proposals_service.list_for_participant(
        session, who.participant.id, status=None, limit=50, offset=0, now=utcnow()
    )
    open_items = [item for item in all_items if item.status == "proposed"]
    decided = [item for item in all_items if item.status != "proposed"][:PROPOSAL_HISTORY_MAX]
    summary = None if view.plan is None else plan_summary(view.plan.plan, lang, row_ids, on=today)
    upcoming = (
        None if view.upcoming_plan is None else plan_summary(view.upcoming_plan.plan, lang, row_ids)
    )
    return _page(
        request,
        session,
        who,
        "participant/agreements.html",
        "agreements",
        {
            "view": view,
            "summary": summary,
            "upcoming": upcoming,
            "open_proposals": _proposal_views(session, who, open_items, names, lang),
            "decided_proposals": _proposal_views(session, who, decided, names, lang),
            "fixed_cost_choices": []
            if summary is None
            else [line for line in summary.fixed_costs if line.agreement_row_id is not None],
            "errors": errors or {},
            "form": form or {},
            "can_propose": who.party is not None,
            "weekdays": range(7),
        },
        status_code=status_code,
    )


@router.get("/afspraken")
def agreements(request: Request, who: ParticipantViewer, session: DbSession) -> Response:
    return _agreements_page(request, session, who)


def _change_from_form(
    kind: str, fields: dict[str, str], lang: str
) -> tuple[PlanChange | None, dict[str, str]]:
    errors: dict[str, str] = {}

    def amount(name: str) -> int | None:
        cents = parse_amount(fields.get(name, ""))
        if cents is None or cents <= 0:
            errors[name] = translate(lang, "form.amount_invalid")
            return None
        return cents

    try:
        if kind == "living_money_schedule":
            frequency = fields.get("frequency", "")
            if frequency == "weekly":
                weekday = fields.get("weekday", "")
                if weekday not in {str(number) for number in range(7)}:
                    errors["weekday"] = translate(lang, "form.weekday_invalid")
                    return None, errors
                return LivingMoneyScheduleChange(frequency="weekly", weekday=int(weekday)), errors
            if frequency == "monthly":
                day = fields.get("day_of_month", "")
                if day not in {str(number) for number in range(1, 29)}:
                    errors["day_of_month"] = translate(lang, "form.day_invalid")
                    return None, errors
                return LivingMoneyScheduleChange(frequency="monthly", day_of_month=int(day)), errors
            errors["frequency"] = translate(lang, "form.frequency_invalid")
            return None, errors
        if kind == "living_money_amount":
            cents = amount("amount")
            return (
                None if cents is None else LivingMoneyAmountChange(amount_cents_per_month=cents)
            ), errors
        if kind == "extra_payout":
            cents = amount("amount")
            return (None if cents is None else ExtraPayoutChange(amount_cents=cents)), errors
        if kind == "fixed_cost_amount":
            agreement = fields.get("agreement_id", "")
            cents = amount("amount")
            if not agreement.isdigit():
                errors["agreement_id"] = translate(lang, "form.agreement_invalid")
                return None, errors
            if cents is None:
                return None, errors
            return FixedCostAmountChange(agreement_id=int(agreement), amount_cents=cents), errors
    except ValidationError:
        errors["kind"] = translate(lang, "form.change_invalid")
        return None, errors
    errors["kind"] = translate(lang, "form.change_invalid")
    return None, errors


@router.post("/afspraken/voorstel", dependencies=[CsrfProtected])
def propose(
    request: Request,
    who: ParticipantViewer,
    session: DbSession,
    kind: Annotated[str, Form(max_length=40)] = "",
    reason: Annotated[str, Form(max_length=REASON_LENGTH_MAX)] = "",
    frequency: Annotated[str, Form(max_length=20)] = "",
    weekday: Annotated[str, Form(max_length=2)] = "",
    day_of_month: Annotated[str, Form(max_length=2)] = "",
    amount: Annotated[str, Form(max_length=30)] = "",
    agreement_id: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    lang = request_language(request)
    ensure_can_act_for_participant(session, who.user, who.participant.id)
    fields = {
        "kind": kind,
        "reason": reason,
        "frequency": frequency,
        "weekday": weekday,
        "day_of_month": day_of_month,
        "amount": amount,
        "agreement_id": agreement_id,
    }
    change, errors = _change_from_form(kind, fields, lang)
    if not reason.strip():
        errors["reason"] = translate(lang, "form.reason_required")
    if change is None or errors:
        return _agreements_page(request, session, who, errors=errors, form=fields, status_code=422)
    refusal = proposing.propose_or_refusal(
        request, session, who.user, who.participant.id, change=change, reason=reason
    )
    if isinstance(refusal, Conflict):
        errors["kind"] = translate(lang, "form.proposal_open_already")
    elif refusal is not None:
        errors["kind"] = translate(lang, "form.change_refused", detail=refusal.detail)
    if errors:
        return _agreements_page(request, session, who, errors=errors, form=fields, status_code=422)
    return redirect(f"{who.base}/afspraken?gedaan=proposal_sent#voorstellen")


def _own_proposal(session: Session, who: Viewer, proposal_id: int) -> Proposal:
    proposal = proposals_service.load_visible(session, who.user, proposal_id)
    if proposal.participant_id != who.participant.id:
        raise NotFound(f"proposal {proposal_id} was not found")
    return proposal


ProposalId = Annotated[int, Path(ge=1, le=ID_MAX)]


@router.post("/voorstellen/{proposal_id}/goedkeuren", dependencies=[CsrfProtected])
def approve(
    request: Request,
    who: ParticipantViewer,
    session: DbSession,
    proposal_id: ProposalId,
    reason: Annotated[str, Form(max_length=REASON_LENGTH_MAX)] = "",
) -> Response:
    proposal = _own_proposal(session, who, proposal_id)
    proposals_service.approve(
        session, who.user, proposal, reason=reason or None, today=page_today(request), now=utcnow()
    )
    return redirect(_back(request, who, "proposal_approved"))


@router.post("/voorstellen/{proposal_id}/afwijzen", dependencies=[CsrfProtected])
def reject(
    request: Request,
    who: ParticipantViewer,
    session: DbSession,
    proposal_id: ProposalId,
    reason: Annotated[str, Form(max_length=REASON_LENGTH_MAX)] = "",
) -> Response:
    lang = request_language(request)
    proposal = _own_proposal(session, who, proposal_id)
    if not reason.strip():
        return _agreements_page(
            request,
            session,
            who,
            errors={f"reject-reason-{proposal.id}": translate(lang, "form.reject_reason_required")},
            status_code=422,
        )
    proposals_service.reject(session, who.user, proposal, reason=reason, now=utcnow())
    return redirect(_back(request, who, "proposal_rejected"))


@router.post("/voorstellen/{proposal_id}/intrekken", dependencies=[CsrfProtected])
def withdraw(
    request: Request,
    who: ParticipantViewer,
    session: DbSession,
    proposal_id: ProposalId,
) -> Response:
    proposal = _own_proposal(session, who, proposal_id)
    proposals_service.withdraw(session, who.user, proposal, reason=None, now=utcnow())
    return redirect(_back(request, who, "proposal_withdrawn"))


def _back(request: Request, who: Viewer, flash: str) -> str:
    """Caseworkers deciding from their own page go back there; everyone else to afspraken."""
    if who.party is Party.CASEWORKER and request.query_params.get("terug") == "hulpverlener":
        return f"/hulpverlener?gedaan={flash}"
    return f"{who.base}/afspraken?gedaan={flash}#voorstellen"


# ---------------------------------------------------------------------- Iets veranderd?


def _life_events_page(
    request: Request,
    session: Session,
    who: Viewer,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    events = signals.list_life_events(
        session, who.participant.id, limit=SIGNALS_SHOWN_MAX, offset=0
    )
    names = _user_names(session, {e.acknowledged_by for e in events if e.acknowledged_by})
    return _page(
        request,
        session,
        who,
        "participant/life_events.html",
        "life_events",
        {
            "events": events,
            "names": names,
            "kinds": [kind.value for kind in LifeEventKind],
            "errors": errors or {},
            "form": form or {},
            "can_tell": who.party is not None and not who.ended,
            "ended": who.ended,
        },
        status_code=status_code,
    )


def _user_names(session: Session, user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    return {
        int(user_id): str(name)
        for user_id, name in session.execute(
            select(UserAccount.id, UserAccount.display_name).where(
                UserAccount.id.in_(sorted(user_ids))
            )
        )
    }


@router.get("/iets-veranderd")
def life_events(request: Request, who: ParticipantViewer, session: DbSession) -> Response:
    return _life_events_page(request, session, who)


@router.post("/iets-veranderd", dependencies=[CsrfProtected])
def tell_life_event(
    request: Request,
    who: ParticipantViewer,
    session: DbSession,
    kind: Annotated[str, Form(max_length=30)] = "",
    occurs_on: Annotated[str, Form(max_length=10)] = "",
    note: Annotated[str, Form(max_length=NOTE_LENGTH_MAX)] = "",
) -> Response:
    lang = request_language(request)
    ensure_can_act_for_participant(session, who.user, who.participant.id)
    errors: dict[str, str] = {}
    if kind not in set(LifeEventKind):
        errors["kind"] = translate(lang, "form.life_event_kind_required")
    day: dt.date | None = None
    if occurs_on:
        try:
            day = dt.date.fromisoformat(occurs_on)
        except ValueError:
            errors["occurs_on"] = translate(lang, "form.date_invalid")
    if errors:
        form = {"kind": kind, "occurs_on": occurs_on, "note": note}
        return _life_events_page(request, session, who, errors=errors, form=form, status_code=422)
    signals.add_life_event(
        session,
        who.user,
        who.participant.id,
        kind=LifeEventKind(kind),
        note=note,
        occurs_on=day,
        now=utcnow(),
    )
    return redirect(f"{who.base}/iets-veranderd?gedaan=life_event_sent")


# ---------------------------------------------------------------------- Noodknop


def _caseworkers(session: Session, participant_id: int) -> list[str]:
    return list(
        session.scalars(
            select(UserAccount.display_name)
            .join(CaseloadAssignment, CaseloadAssignment.caseworker_id == UserAccount.id)
            .where(
                CaseloadAssignment.participant_id == participant_id, UserAccount.active.is_(True)
            )
            .order_by(UserAccount.display_name)
        )
    )


def _emergency_page(
    request: Request,
    session: Session,
    who: Viewer,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    # What someone asked for help with, and their note, is between them and their
    # caseworker: a household member reading these pages does not see the list.
    requests = (
        signals.list_emergencies(session, who.participant.id, limit=SIGNALS_SHOWN_MAX, offset=0)
        if who.party is not None
        else []
    )
    names = _user_names(session, {r.acknowledged_by for r in requests if r.acknowledged_by})
    return _page(
        request,
        session,
        who,
        "participant/emergency.html",
        "emergency",
        {
            "requests": requests,
            "names": names,
            "caseworkers": _caseworkers(session, who.participant.id),
            "kinds": [kind.value for kind in EmergencyKind],
            "errors": errors or {},
            "form": form or {},
            "can_press": who.is_self and not who.ended,
            "ended": who.ended,
        },
        status_code=status_code,
    )


@router.get("/noodknop")
def emergency(request: Request, who: ParticipantViewer, session: DbSession) -> Response:
    return _emergency_page(request, session, who)


@router.post("/noodknop", dependencies=[CsrfProtected])
def press_emergency(
    request: Request,
    who: ParticipantViewer,
    session: DbSession,
    kind: Annotated[str, Form(max_length=30)] = "",
    note: Annotated[str, Form(max_length=NOTE_LENGTH_MAX)] = "",
    payout: Annotated[str, Form(max_length=5)] = "",
    amount: Annotated[str, Form(max_length=30)] = "",
) -> Response:
    lang = request_language(request)
    ensure_can_act_for_participant(
        session, who.user, who.participant.id, parties=frozenset({Party.PARTICIPANT})
    )
    errors: dict[str, str] = {}
    if kind not in set(EmergencyKind):
        errors["kind"] = translate(lang, "form.emergency_kind_required")
    payout_cents: int | None = None
    if payout == "ja":
        payout_cents = parse_amount(amount)
        if payout_cents is None or payout_cents <= 0:
            errors["amount"] = translate(lang, "form.amount_invalid")
    if errors:
        form = {"kind": kind, "note": note, "payout": payout, "amount": amount}
        return _emergency_page(request, session, who, errors=errors, form=form, status_code=422)
    request_row = signals.press_emergency(
        session, who.user, who.participant.id, kind=EmergencyKind(kind), note=note, now=utcnow()
    )
    if payout_cents is not None:
        reason = translate("nl", "emergency.payout_reason", number=request_row.id)
        if note.strip():
            reason = f"{reason} {note.strip()}"[:REASON_LENGTH_MAX]
        proposing.propose(
            request,
            session,
            who.user,
            who.participant.id,
            # Tied to the request: the caseworker cannot pay it a second time.
            change=ExtraPayoutChange(
                amount_cents=payout_cents, emergency_request_id=request_row.id
            ),
            reason=reason,
        )
    return redirect(f"{who.base}/noodknop?gedaan=emergency_sent")


# ---------------------------------------------------------------------- Mijn gegevens


@router.get("/gegevens")
def details(request: Request, who: ParticipantViewer, session: DbSession) -> Response:
    household = session.get(Household, who.participant.household_id)
    members = list(
        session.scalars(
            select(Participant)
            .where(Participant.household_id == who.participant.household_id)
            .order_by(Participant.id)
        )
    )
    account = session.scalar(
        select(UserAccount).where(UserAccount.participant_id == who.participant.id)
    )
    return _page(
        request,
        session,
        who,
        "participant/details.html",
        "details",
        {
            "household": household,
            "members": members,
            "account": account,
            "caseworkers": _caseworkers(session, who.participant.id),
        },
    )


@router.get("/gegevens/download")
def download(request: Request, who: ParticipantViewer, session: DbSession) -> Response:
    """All data held about the person (AVG art. 15); only the person themself."""
    cipher = request.app.state.settings.field_cipher()
    data = personal_data_export(session, who.user, who.participant, cipher=cipher)
    body = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    filename = f"mijn-gegevens-{page_today(request).isoformat()}.json"
    return Response(
        body,
        media_type="application/json; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/gegevens/download.pdf")
def download_pdf(request: Request, who: ParticipantViewer, session: DbSession) -> Response:
    """The same, as a readable PDF."""
    cipher = request.app.state.settings.field_cipher()
    data = personal_data_export(session, who.user, who.participant, cipher=cipher)
    body = personal_data_pdf(data)
    filename = f"mijn-gegevens-{page_today(request).isoformat()}.pdf"
    return Response(
        body,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


# ---------------------------------------------------------------------- Berichten


@router.get("/berichten")
def messages(request: Request, who: ParticipantViewer, session: DbSession) -> Response:
    # The caseworker's notes (never the internal ones), kantelgesprekken and personal
    # messages are between the participant and their caseworker: not for household
    # members (party None).
    show_casework = who.party is not None
    items = messages_service.list_messages(
        session, [who.participant.id], limit=50, include_personal=show_casework
    )
    unread_ids = {item.id for item in items if item.read_at is None}
    if who.is_self:
        messages_service.mark_read(session, who.participant.id, now=utcnow())
    return _page(
        request,
        session,
        who,
        "participant/messages.html",
        "messages",
        {
            "items": items,
            "unread_ids": unread_ids,
            "show_casework": show_casework,
            "notes": casework_notes.notes_for_participant(session, who.participant.id)
            if show_casework
            else [],
            "reviews": casework_notes.reviews_for_participant(session, who.participant.id)
            if show_casework
            else [],
        },
    )


# ---------------------------------------------------------------------- Overzichten


@router.get("/overzichten")
def statements(request: Request, who: ParticipantViewer, session: DbSession) -> Response:
    months, years = statement_periods(session, who.participant.id)
    return _page(
        request,
        session,
        who,
        "participant/statements.html",
        "statements",
        {"months": months, "years": years},
    )


PeriodText = Annotated[str, Path(pattern=r"^\d{4}(-(0[1-9]|1[0-2]))?$")]


@router.get("/overzichten/{period}.pdf")
def statement_as_pdf(
    request: Request, who: ParticipantViewer, session: DbSession, period: PeriodText
) -> Response:
    lang = request_language(request)
    statement = build_statement(session, who.participant.id, Period.parse(period), lang)
    body = statement_pdf(
        statement,
        lang,
        municipality=client_settings().municipality_name,
        made_on=page_today(request),
    )
    return Response(
        body,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="overzicht-{period}.pdf"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/overzichten/{period}")
def statement(
    request: Request, who: ParticipantViewer, session: DbSession, period: PeriodText
) -> Response:
    lang = request_language(request)
    found = build_statement(session, who.participant.id, Period.parse(period), lang)
    return _page(
        request,
        session,
        who,
        "participant/statement.html",
        "statements",
        {"statement": found, "title": period_title(found, lang), "period_key": period},
    )


__all__ = ["NAVIGATION", "Viewer", "router", "viewer"]
