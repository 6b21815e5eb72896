"""Op weg naar zelf doen: /deelnemer/{participant_id}/zelf-doen (issue 12).

The participant's step of autonomy, what is needed for the next step, their
savings goals (potjes) with progress and forecast, and the forms to make a goal,
set money aside and take it back. Setting aside and taking back are the
participant's own acts (their money): the caseworker sees the page but the forms
answer 403 for them; asking for the next step is a co-decision proposal either
party may make.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from backend.access.policy import ensure_can_act_for_participant
from backend.api.deps import DbSession
from backend.codecision.changes import AutonomyStepChange, FixedCostPaidByParticipantChange
from backend.ending.guard import ensure_participation_open
from backend.errors import Conflict, Forbidden, InvalidInput, NotFound
from backend.models import Agreement
from backend.models.base import utcnow
from backend.models.zelfregie import GOAL_NAME_LENGTH_MAX
from backend.zelfregie import savings, self_payment
from backend.zelfregie.payout_choice import payout_limits
from backend.zelfregie.steps import step_view
from client_app.formatting import parse_amount
from client_app.i18n import translate
from client_app.pages.participant import ParticipantViewer, Viewer, _page
from client_app.pages.proposing import propose
from client_app.services.state import view_with_forecast
from client_app.web.rendering import page_today, redirect, request_language
from client_app.web.routing import CsrfProtected, PageRoute
from rules import Plan
from rules.zelfregie import AutonomyStep, free_to_set_aside

router = APIRouter(
    prefix="/deelnemer/{participant_id}", route_class=PageRoute, include_in_schema=False
)

STEPS = (1, 2, 3, 4)


def _bar(percent: int) -> int:
    return min(100, max(0, percent)) // 10 * 10


def _zelfregie_page(
    request: Request,
    session: Session,
    who: Viewer,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    today = page_today(request)
    view, result = view_with_forecast(session, who.participant.id, today)
    steps = step_view(
        session,
        who.participant.id,
        today,
        buffer_cents=view.balances.buffer_cents,
        buffer_target_cents=view.buffer_target_cents,
    )
    goals = savings.goals(session, who.participant.id, today)
    plan = view.plan.plan if view.plan else None
    return _page(
        request,
        session,
        who,
        "participant/zelfregie.html",
        "zelfregie",
        {
            "steps": STEPS,
            "step": steps,
            "goals": goals,
            "bars": {item.goal.id: _bar(item.forecast.progress_percent) for item in goals},
            "free_cents": free_to_set_aside(view.balances.available_cents, result),
            "can_act": who.is_self and who.participant.status != "ended",
            "errors": errors or {},
            "form": form or {},
            "name_max": GOAL_NAME_LENGTH_MAX,
            # Zelfregie steps 2 and 3 (issue 12)
            "payout_limits": payout_limits(plan) if plan and steps.step >= 2 else None,
            "bills": self_payment.self_paid_bills(session, who.participant.id, today),
            "own_costs": _own_cost_choices(session, who.participant.id, plan)
            if plan and steps.step >= AutonomyStep.PAYS_OWN_COSTS
            else [],
            "today": today,
        },
        status_code=status_code,
    )


@router.get("/zelf-doen")
def zelfregie(request: Request, who: ParticipantViewer, session: DbSession) -> Response:
    return _zelfregie_page(request, session, who)


@router.post("/zelf-doen/spaardoel", dependencies=[CsrfProtected])
def create_goal(
    request: Request,
    who: ParticipantViewer,
    session: DbSession,
    name: Annotated[str, Form(max_length=200)] = "",
    target: Annotated[str, Form(max_length=30)] = "",
    monthly: Annotated[str, Form(max_length=30)] = "",
    target_date: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    lang = request_language(request)
    ensure_can_act_for_participant(session, who.user, who.participant.id, parties=savings.OWN)
    ensure_participation_open(session, who.participant.id)  # read-only after the end
    today = page_today(request)
    errors: dict[str, str] = {}
    name = " ".join(name.split())
    if not 1 <= len(name) <= GOAL_NAME_LENGTH_MAX:
        errors["name"] = translate(lang, "zelfregie.error.name")
    target_cents = parse_amount(target)
    if target_cents is None or target_cents <= 0:
        errors["target"] = translate(lang, "form.amount_invalid")
    monthly_cents = parse_amount(monthly) if monthly.strip() else 0
    if monthly_cents is None or monthly_cents < 0:
        errors["monthly"] = translate(lang, "form.amount_invalid")
    day: dt.date | None = None
    if target_date:
        try:
            day = dt.date.fromisoformat(target_date)
        except ValueError:
            errors["target_date"] = translate(lang, "form.date_invalid")
        else:
            if day <= today:
                errors["target_date"] = translate(lang, "zelfregie.error.date_past")
    if not errors:
        try:
            savings.create_goal(
                session,
                who.user,
                who.participant.id,
                name=name,
                target_cents=target_cents or 0,
                monthly_cents=monthly_cents or 0,
                target_date=day,
                today=today,
            )
        except Conflict:
            errors["name"] = translate(lang, "zelfregie.error.too_many")
    if errors:
        form = {"name": name, "target": target, "monthly": monthly, "target_date": target_date}
        return _zelfregie_page(request, session, who, errors=errors, form=form, status_code=422)
    return redirect(f"{who.base}/zelf-doen?gedaan=goal_created")


def _move(
    request: Request,
    who: Viewer,
    session: Session,
    goal: str,
    amount: str,
    *,
    withdraw: bool,
) -> Response:
    lang = request_language(request)
    ensure_can_act_for_participant(session, who.user, who.participant.id, parties=savings.OWN)
    ensure_participation_open(session, who.participant.id)  # read-only after the end
    today = page_today(request)
    field = f"amount-{goal}" if goal.isdigit() else "amount"
    errors: dict[str, str] = {}
    cents = parse_amount(amount)
    if not goal.isdigit() or not 0 < int(goal) < 2**63:
        errors["goal"] = translate(lang, "zelfregie.error.goal")
    if cents is None or cents <= 0:
        errors[field] = translate(lang, "form.amount_invalid")
    if not errors and cents is not None:
        try:
            if withdraw:
                savings.withdraw(
                    session,
                    who.user,
                    who.participant.id,
                    int(goal),
                    amount_cents=cents,
                    today=today,
                )
            else:
                _, result = view_with_forecast(session, who.participant.id, today)
                savings.set_aside(
                    session,
                    who.user,
                    who.participant.id,
                    int(goal),
                    amount_cents=cents,
                    today=today,
                    forecast=result,
                )
        except (Conflict, InvalidInput):
            key = "zelfregie.error.too_much_back" if withdraw else "zelfregie.error.too_much"
            errors[field] = translate(lang, key)
    if errors:
        return _zelfregie_page(request, session, who, errors=errors, status_code=422)
    return redirect(f"{who.base}/zelf-doen?gedaan={'withdrawn' if withdraw else 'set_aside'}")


@router.post("/zelf-doen/opzij", dependencies=[CsrfProtected])
def set_aside(
    request: Request,
    who: ParticipantViewer,
    session: DbSession,
    goal: Annotated[str, Form(max_length=20)] = "",
    amount: Annotated[str, Form(max_length=30)] = "",
) -> Response:
    return _move(request, who, session, goal, amount, withdraw=False)


@router.post("/zelf-doen/terug", dependencies=[CsrfProtected])
def take_back(
    request: Request,
    who: ParticipantViewer,
    session: DbSession,
    goal: Annotated[str, Form(max_length=20)] = "",
    amount: Annotated[str, Form(max_length=30)] = "",
) -> Response:
    return _move(request, who, session, goal, amount, withdraw=True)


@router.post("/zelf-doen/volgende-stap", dependencies=[CsrfProtected])
def ask_next_step(request: Request, who: ParticipantViewer, session: DbSession) -> Response:
    """Propose the next step (co-decision); only when its conditions are met."""
    ensure_can_act_for_participant(session, who.user, who.participant.id)
    today = page_today(request)
    view, _ = view_with_forecast(session, who.participant.id, today)
    steps = step_view(
        session,
        who.participant.id,
        today,
        buffer_cents=view.balances.buffer_cents,
        buffer_target_cents=view.buffer_target_cents,
    )
    if not steps.next.ready or steps.next.next is None:
        raise Conflict("the conditions for the next step are not met yet")
    propose(
        request,
        session,
        who.user,
        who.participant.id,
        change=AutonomyStepChange(step=int(steps.next.next)),
        reason=translate("nl", "zelfregie.step_reason", step=int(steps.next.next)),
    )
    return redirect(f"{who.base}/zelf-doen?gedaan=step_asked")


# ---------------------------------------------------------------------- step 3 (issue 12)


def _own_cost_choices(session: Session, participant_id: int, plan: Plan) -> list[dict[str, object]]:
    """The plan's fixed costs with their agreement row id and whether they are self-paid."""
    rows = {
        str(plan_id): int(row_id)
        for row_id, plan_id in session.execute(
            select(Agreement.id, Agreement.plan_agreement_id).where(
                Agreement.participant_id == participant_id,
                Agreement.direction == "fixed_cost",
            )
        )
    }
    return [
        {
            "row_id": rows[cost.agreement_id],
            "name": cost.description_nl or cost.creditor_name,
            "creditor": cost.creditor_name,
            "amount_cents": cost.amount_cents,
            "self_paid": cost.paid_by_participant,
        }
        for cost in plan.fixed_costs
        if cost.agreement_id in rows
    ]


@router.post("/zelf-doen/betaald", dependencies=[CsrfProtected])
def mark_paid(
    request: Request,
    who: ParticipantViewer,
    session: DbSession,
    agreement: Annotated[str, Form(max_length=64)] = "",
    due: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """ "Ik heb betaald" (participant) or "Bevestig betaald" (caseworker, ?terug=hulpverlener)."""
    lang = request_language(request)
    back = request.query_params.get("terug") == "hulpverlener"
    ensure_participation_open(session, who.participant.id)  # read-only after the end
    try:
        due_date = dt.date.fromisoformat(due)
        self_payment.confirm_paid(
            session,
            who.user,
            who.participant.id,
            agreement_id=agreement,
            due_date=due_date,
            now=utcnow(),
        )
    except Forbidden:
        raise
    except (ValueError, NotFound, InvalidInput):
        errors = {"bill": translate(lang, "selfpay.error.bill")}
        return _zelfregie_page(request, session, who, errors=errors, status_code=422)
    if back:
        return redirect(f"/hulpverlener/deelnemer/{who.participant.id}?gedaan=selfpay_confirmed")
    return redirect(f"{who.base}/zelf-doen?gedaan=selfpay_confirmed")


@router.post("/zelf-doen/zelf-betalen", dependencies=[CsrfProtected])
def propose_paying_myself(
    request: Request,
    who: ParticipantViewer,
    session: DbSession,
    agreement: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Propose (co-decision) that the participant pays this fixed cost themselves."""
    lang = request_language(request)
    ensure_can_act_for_participant(session, who.user, who.participant.id)
    try:
        if not agreement.isdigit() or not 0 < int(agreement) < 2**63:
            raise InvalidInput("choose a fixed cost")
        propose(
            request,
            session,
            who.user,
            who.participant.id,
            change=FixedCostPaidByParticipantChange(
                agreement_id=int(agreement), paid_by_participant=True
            ),
            reason=translate("nl", "selfpay.reason"),
        )
    except (InvalidInput, Conflict):
        errors = {"own_cost": translate(lang, "selfpay.error.own_cost")}
        return _zelfregie_page(request, session, who, errors=errors, status_code=422)
    return redirect(f"{who.base}/zelf-doen?gedaan=step_asked")
