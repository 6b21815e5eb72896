"""Steps of autonomy: where a participant is on the way to managing on their own.

The step is agreed through co-decision (change kind `autonomy_step`): when the
proposal is decided, `apply_step` writes an `autonomy_step` row from its effective
date. Without a row a participant is at step 1 (everything managed) since they
joined. What is needed for the next step is computed by the pure
rules.zelfregie.next_step_conditions from facts gathered here: arrears alerts
raised by the engine since the step started, and the buffer against its target.

What the steps change: step 2 in backend.zelfregie.payout_choice (the participant's
own payout choices within limits are approved at once), step 3 in
backend.zelfregie.self_payment and the rules engine (fixed costs they pay
themselves, with the fallback after a missed payment).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.clock import AMSTERDAM
from backend.codecision.applying import register_applier
from backend.codecision.changes import AutonomyStepChange, parse_change
from backend.codecision.matrix import ChangeKind
from backend.models import Alert, AutonomyStepRecord, Participant, Proposal
from rules.zelfregie import AutonomyStep, NextStep, StepFacts, next_step_conditions

ARREARS_ALERT = "arrears"
SELF_PAYMENT_MISSED_ALERT = "self_payment_missed"


@dataclass(frozen=True, slots=True)
class StepView:
    step: AutonomyStep
    since: dt.date
    next: NextStep


def current_step(
    session: Session, participant_id: int, today: dt.date
) -> tuple[AutonomyStep, dt.date]:
    """The step in force today and the day it started (step 1 since joining by default)."""
    record = session.scalar(
        select(AutonomyStepRecord)
        .where(
            AutonomyStepRecord.participant_id == participant_id,
            AutonomyStepRecord.effective_from <= today,
        )
        .order_by(AutonomyStepRecord.effective_from.desc(), AutonomyStepRecord.id.desc())
        .limit(1)
    )
    if record is not None:
        return AutonomyStep(record.step), record.effective_from
    participant = session.get(Participant, participant_id)
    since = today if participant is None else participant.created_at.astimezone(AMSTERDAM).date()
    return AutonomyStep.MANAGED, min(since, today)


def step_view(
    session: Session,
    participant_id: int,
    today: dt.date,
    *,
    buffer_cents: int = 0,
    buffer_target_cents: int = 0,
) -> StepView:
    step, since = current_step(session, participant_id, today)
    arrears = [
        created.astimezone(AMSTERDAM).date()
        for created in session.scalars(
            select(Alert.created_at).where(
                Alert.participant_id == participant_id, Alert.kind == ARREARS_ALERT
            )
        )
    ]
    missed = [
        created.astimezone(AMSTERDAM).date()
        for created in session.scalars(
            select(Alert.created_at).where(
                Alert.participant_id == participant_id, Alert.kind == SELF_PAYMENT_MISSED_ALERT
            )
        )
    ]
    facts = StepFacts(
        step,
        step_since=since,
        today=today,
        arrears_on=arrears,
        missed_own_payments_on=missed,
        buffer_cents=buffer_cents,
        buffer_target_cents=buffer_target_cents,
    )
    return StepView(step, since, next_step_conditions(facts))


def apply_step(session: Session, proposal: Proposal, *, now: dt.datetime) -> str:
    """Co-decision applier for `autonomy_step`; idempotent per proposal."""
    change = parse_change(proposal.kind, dict(proposal.payload))
    if not isinstance(change, AutonomyStepChange):
        raise TypeError(f"proposal {proposal.id} is not an autonomy step")
    existing = session.scalar(
        select(AutonomyStepRecord).where(AutonomyStepRecord.proposal_id == proposal.id)
    )
    if existing is None:
        existing = AutonomyStepRecord(
            participant_id=proposal.participant_id,
            step=change.step,
            effective_from=proposal.effective_from,
            proposal_id=proposal.id,
            created_at=now,
        )
        session.add(existing)
        session.flush()
    return f"autonomy_step:{proposal.participant_id}:{existing.step}"


def register_step_applier() -> None:
    register_applier(ChangeKind.AUTONOMY_STEP, apply_step)
