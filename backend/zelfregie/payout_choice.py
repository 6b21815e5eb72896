"""Zelfregie step 2: the participant chooses the day and size of their living money.

From step 2 a participant's own proposal of kind `living_money_schedule` or
`living_money_amount` that stays within the limits is approved at once by the
system (event `approved`, party `system`, with the reason in the proposal history)
and becomes a plan version like any decided proposal. Outside the limits it waits
for the caseworker as usual. The limits (`payout_limits`):

- schedule: weekly on any weekday, or monthly on day 1 to 28 (what the rules pay);
- amount per month: at least the plan's floor, at most what the plan leaves after
  fixed costs and the buffer set-aside, so those are never short.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.orm import Session

from backend.access.policy import Party
from backend.codecision.applying import apply_decided
from backend.codecision.changes import (
    LivingMoneyAmountChange,
    LivingMoneyScheduleChange,
    parse_change,
)
from backend.models import Proposal, ProposalEvent
from backend.plans.service import latest_plan
from backend.zelfregie.steps import current_step
from rules import Plan
from rules.zelfregie import AutonomyStep

SYSTEM_PARTY = "system"


@dataclass(frozen=True, slots=True)
class PayoutLimits:
    """What a participant at step 2 may choose alone (amounts per month, in cents)."""

    floor_cents: int
    most_cents: int


def payout_limits(plan: Plan) -> PayoutLimits | None:
    """None when the plan pays no living money."""
    if plan.living_money is None:
        return None
    uncapped = Plan.model_validate(
        {
            **plan.model_dump(),
            "living_money": {**plan.living_money.model_dump(), "monthly_amount_cap_cents": None},
        }
    )
    most = uncapped.living_money_monthly_cents
    return PayoutLimits(
        floor_cents=min(plan.living_money.monthly_floor_cents, most), most_cents=most
    )


def within_limits(
    change: LivingMoneyScheduleChange | LivingMoneyAmountChange, plan: Plan
) -> str | None:
    """Why the change is within the limits (the history's reason), or None."""
    limits = payout_limits(plan)
    if limits is None:
        return None
    if isinstance(change, LivingMoneyScheduleChange):
        if change.frequency not in ("weekly", "monthly"):
            return None
        return "binnen de grenzen van stap 2: wekelijks of maandelijks, op een dag naar keuze"
    if not limits.floor_cents <= change.amount_cents_per_month <= limits.most_cents:
        return None
    return (
        "binnen de grenzen van stap 2: niet meer dan er na de vaste lasten en de buffer overblijft"
    )


def approve_within_limits(
    session: Session, proposal: Proposal, *, party: Party, today: dt.date, now: dt.datetime
) -> bool:
    """Approve the participant's own payout choice at step 2+ when within the limits.
    Called by co-decision right after such a proposal is made; True when approved."""
    if party is not Party.PARTICIPANT or proposal.status != "proposed":
        return False
    step, _ = current_step(session, proposal.participant_id, max(today, proposal.effective_from))
    if step < AutonomyStep.CHOOSES_PAYOUTS:
        return False
    stored = latest_plan(session, proposal.participant_id)
    change = parse_change(proposal.kind, dict(proposal.payload))
    if stored is None or not isinstance(
        change, LivingMoneyScheduleChange | LivingMoneyAmountChange
    ):
        return False
    why = within_limits(change, stored.plan)
    if why is None:
        return False
    reason = f"Automatisch goedgekeurd: {why}."
    session.execute(
        update(Proposal)
        .where(Proposal.id == proposal.id, Proposal.status == "proposed")
        .values(status="approved", decided_by=None, decided_at=now, decision_reason=reason)
        .execution_options(synchronize_session=False)
    )
    session.refresh(proposal)
    session.add(
        ProposalEvent(
            proposal_id=proposal.id,
            action="approved",
            actor_id=None,
            actor_party=SYSTEM_PARTY,
            reason=reason,
            created_at=now,
        )
    )
    session.flush()
    apply_decided(session, proposal, now=now)
    return True
