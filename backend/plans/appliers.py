"""Co-decision appliers: a decided proposal becomes a plan version.

Call `register_plan_appliers()` once at start-up (the app factory and the
`cycle run` command do). Each applier parses the proposal's change, calls
`apply_plan_change` with source "proposal:<id>" (so a retry after a crash makes
no second version) and returns "plan_version:<participant>:<version>".

`extra_payout` has its own applier (backend.plans.one_off): a plan version with a
one-off payout (`rules.OneOffPayout`) that the daily cycle pays once.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from backend.codecision.applying import register_applier
from backend.codecision.changes import parse_change
from backend.codecision.matrix import ChangeKind
from backend.models import Proposal
from backend.plans.service import apply_plan_change

APPLIED_KINDS = (
    ChangeKind.LIVING_MONEY_AMOUNT,
    ChangeKind.LIVING_MONEY_SCHEDULE,
    ChangeKind.FIXED_COST_ADD,
    ChangeKind.FIXED_COST_REMOVE,
    ChangeKind.FIXED_COST_AMOUNT,
    ChangeKind.BUFFER_POLICY,
    ChangeKind.CREDITOR_IBAN_CORRECTION,
    # Follow up / copy / end an agreement (issue 8).
    ChangeKind.AGREEMENT_FOLLOW_UP,
    ChangeKind.AGREEMENT_COPY,
    ChangeKind.AGREEMENT_END,
    # Zelfregie step 3: a fixed cost the participant pays themselves (issue 12).
    ChangeKind.FIXED_COST_PAID_BY_PARTICIPANT,
)


def proposal_source(proposal_id: int) -> str:
    return f"proposal:{proposal_id}"


def apply_proposal(session: Session, proposal: Proposal, *, now: dt.datetime) -> str:
    """The applier for every kind in APPLIED_KINDS (co-decision's ProposalApplier)."""
    change = parse_change(proposal.kind, dict(proposal.payload))
    stored = apply_plan_change(
        session,
        proposal.participant_id,
        change,
        effective_from=proposal.effective_from,
        created_by=f"proposal:{proposal.id}:user:{proposal.decided_by}",
        source=proposal_source(proposal.id),
    )
    return f"plan_version:{stored.participant_id}:{stored.version}"


def register_plan_appliers() -> None:
    """Also registers the one applier that makes no plan version: `autonomy_step`."""
    from backend.ending.service import register_ending_applier
    from backend.onboarding.service import register_onboarding_applier
    from backend.zelfregie.steps import register_step_applier

    for kind in APPLIED_KINDS:
        register_applier(kind, apply_proposal)
    register_step_applier()
    # extra_payout: a one-off payout the daily cycle pays (backend.plans.one_off).
    from backend.plans.one_off import apply_extra_payout

    register_applier(ChangeKind.EXTRA_PAYOUT, apply_extra_payout)
    register_ending_applier()  # end_participation (backend.ending)
    register_onboarding_applier()  # initial_plan: onboarding's first plan version
