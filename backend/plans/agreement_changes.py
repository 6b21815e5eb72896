"""Follow up, copy or end an agreement (income or fixed cost) through co-decision.

A caseworker (or the participant) proposes one of these changes; the other party
approves and `backend.plans.appliers` turns it into the next plan version with
`agreement_change_plan`. The rules (rules.agreement_changes) change the
agreements' schedules, so the date in the change is what counts, not the day the
proposal is approved.

`propose_agreement_change` checks the change against the latest plan before the
proposal is stored: an unknown agreement, an end before the start, a follow-up
before the agreement starts are refused then, with nothing stored.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from backend.access.policy import Principal
from backend.codecision import service as proposals_service
from backend.codecision.changes import (
    AgreementCopyChange,
    AgreementEndChange,
    AgreementFollowUpChange,
)
from backend.errors import InvalidInput
from backend.models import Agreement, Proposal
from backend.plans.projection import agreement_ids_ever, new_agreement_id
from rules import Plan, RulesError
from rules import agreement_changes as rules_changes

AgreementChange = AgreementFollowUpChange | AgreementCopyChange | AgreementEndChange


def plan_agreement_id(session: Session, plan: Plan, row_id: int) -> str:
    """The rules agreement id behind an `agreement` row id of this plan's participant."""
    row = session.get(Agreement, row_id)
    if (
        row is None
        or row.participant_id != plan.participant_id
        or row.plan_agreement_id is None
        or (
            plan.fixed_cost(row.plan_agreement_id) is None
            and plan.income(row.plan_agreement_id) is None
        )
    ):
        raise InvalidInput(f"agreement {row_id} is not an agreement of this participant's plan")
    return row.plan_agreement_id


def _new_id(session: Session, plan: Plan, base: str) -> str:
    taken = agreement_ids_ever(session, plan.participant_id)
    taken |= {cost.agreement_id for cost in plan.fixed_costs}
    taken |= {income.agreement_id for income in plan.incomes}
    return new_agreement_id(base, taken)


def agreement_change_plan(session: Session, plan: Plan, change: AgreementChange) -> Plan:
    """`plan` with the change applied (same version and date). InvalidInput when the
    change does not fit the plan; the message is the rules' own."""
    agreement_id = plan_agreement_id(session, plan, change.agreement_id)
    try:
        if isinstance(change, AgreementEndChange):
            return rules_changes.end(plan, agreement_id, end_date=change.end_date)
        new_id = _new_id(session, plan, agreement_id)
        make = (
            rules_changes.follow_up
            if isinstance(change, AgreementFollowUpChange)
            else rules_changes.copy
        )
        return make(
            plan,
            agreement_id,
            amount_cents=change.amount_cents,
            from_date=change.from_date,
            new_agreement_id=new_id,
        )
    except RulesError as error:
        raise InvalidInput(str(error)) from error


def change_date(change: AgreementChange) -> dt.date:
    """The day the change takes effect: the end date or the first day of the new amount."""
    return change.end_date if isinstance(change, AgreementEndChange) else change.from_date


def check_change_date(change: AgreementChange, today: dt.date) -> None:
    """Refuse a date in the past (a due date already executed cannot be paid again at
    the new amount) or further ahead than any proposal may take effect: a typo such as
    2126 or 9999 would otherwise end or change the agreement in a century."""
    if change_date(change) < today:
        raise InvalidInput(
            f"the date {change_date(change).isoformat()} is in the past: "
            f"choose today ({today.isoformat()}) or later"
        )
    days_max = proposals_service.EFFECTIVE_DAYS_AHEAD_MAX
    latest = today + dt.timedelta(days=days_max)
    if change_date(change) > latest:
        raise InvalidInput(
            f"the date {change_date(change).isoformat()} is too far ahead: "
            f"at most {days_max} days from today ({latest.isoformat()})"
        )


def check_agreement_change(
    session: Session, participant_id: int, change: AgreementChange, *, today: dt.date
) -> None:
    """Refuse (InvalidInput) a change too far ahead or that would not apply to the
    latest plan."""
    from backend.plans.service import latest_plan  # the service imports this module

    check_change_date(change, today)
    latest = latest_plan(session, participant_id)
    if latest is None:
        raise InvalidInput(f"participant {participant_id} has no plan yet")
    agreement_change_plan(session, latest.plan, change)


def propose_agreement_change(
    session: Session,
    principal: Principal,
    participant_id: int,
    change: AgreementChange,
    *,
    reason: str,
    today: dt.date,
    now: dt.datetime,
    expiry_days: int,
) -> Proposal:
    """Store the change as an open proposal; create_proposal checks who may propose it
    and then the change against the latest plan (check_agreement_change)."""
    return proposals_service.create_proposal(
        session,
        principal,
        participant_id,
        change=change,
        reason=reason,
        effective_from=None,
        emergency=False,
        today=today,
        now=now,
        expiry_days=expiry_days,
    )
