"""Zelfregie step 3: fixed costs the participant pays themselves (issue 12).

- Switched on per fixed cost through co-decision (change kind
  `fixed_cost_paid_by_participant`), only from step 3 (`check_paid_by_participant`).
- The rules engine hands the reserved amount over to the participant's own account
  on the execution date (`fixed_cost.handover`, a payment instruction to their IBAN)
  with a date to confirm it by (due date + rules.SELF_PAYMENT_CONFIRM_DAYS).
- The participant marks it paid in the app, or the caseworker confirms it
  (`confirm_paid`, a `self_payment_confirmation` row). The daily cycle hands the
  confirmations to the engine (`confirmations_for`).
- Not confirmed in time: the engine raises `self_payment_missed` (the caseworker's
  work queue and a message to the participant), pays the cost directly again, and
  the cycle switches the flag off with a plan version made through the emergency
  path of co-decision (`switch_back_after_missed`), so the plan says what happens.

Services only flush; the caller commits.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.access.policy import Party, Principal, ensure_can_act_for_participant
from backend.codecision.applying import apply_decided
from backend.codecision.changes import FixedCostPaidByParticipantChange, change_payload
from backend.codecision.matrix import ChangeKind
from backend.ending.guard import ensure_participation_open
from backend.errors import Forbidden, InvalidInput, NotFound
from backend.models import (
    Agreement,
    CaseloadAssignment,
    JournalEntryRecord,
    PaymentInstruction,
    PostingRecord,
    Proposal,
    ProposalEvent,
    SelfPaymentConfirmation,
)
from backend.plans.service import apply_plan_change, latest_plan
from backend.zelfregie.steps import current_step
from rules import REASON_HANDOVER, AlertKind, Plan, RaiseAlert
from rules.state import META_AGREEMENT_ID, META_CONFIRM_BY, META_DUE_DATE
from rules.zelfregie import AutonomyStep

log = logging.getLogger(__name__)

# How far back the app lists handed-over bills (about three months).
SHOWN_DAYS = 100
CONFIRMATIONS_LOOKBACK_DAYS = 200
SYSTEM_PARTY = "system"
SWITCH_BACK_SOURCE = "self_payment_missed"


def handover_key(participant_id: int, agreement_id: str, due_date: dt.date) -> str:
    """The engine's idempotency key of a handover (rules.engine `_hand_over`)."""
    return f"rules:{participant_id}:fixed_cost.handover:{agreement_id}:{due_date.isoformat()}"


# ---------------------------------------------------------------------- switching it on


def _fixed_cost_row(session: Session, participant_id: int, row_id: int) -> Agreement:
    agreement = session.get(Agreement, row_id)
    if (
        agreement is None
        or agreement.participant_id != participant_id
        or agreement.direction != "fixed_cost"
    ):
        raise InvalidInput(f"agreement {row_id} is not a fixed cost of this plan")
    return agreement


def check_paid_by_participant(
    session: Session,
    participant_id: int,
    change: FixedCostPaidByParticipantChange,
    effective_from: dt.date,
    *,
    emergency: bool,
) -> None:
    """Called by co-decision before a proposal of this kind is stored."""
    _fixed_cost_row(session, participant_id, change.agreement_id)
    if not change.paid_by_participant:
        return  # back to direct payment is always allowed
    if emergency:
        raise Forbidden("the emergency path only switches paying a bill yourself off")
    step, _ = current_step(session, participant_id, effective_from)
    if step < AutonomyStep.PAYS_OWN_COSTS:
        raise InvalidInput(
            f"paying a fixed cost yourself starts at step {int(AutonomyStep.PAYS_OWN_COSTS)}; "
            f"the participant is at step {int(step)}"
        )


# ---------------------------------------------------------------------- what is open


@dataclass(frozen=True, slots=True)
class SelfPaidBill:
    """One handed-over bill, for the Zelf doen page and the caseworker's page."""

    agreement_id: str
    due_date: dt.date
    confirm_by: dt.date
    amount_cents: int
    creditor_name: str
    description: str
    confirmed_party: str | None  # None: not confirmed
    missed: bool  # not confirmed and its deadline has passed

    @property
    def confirmed(self) -> bool:
        return self.confirmed_party is not None


def self_paid_bills(session: Session, participant_id: int, today: dt.date) -> list[SelfPaidBill]:
    """Bills handed over in about the last three months, newest first."""
    since = today - dt.timedelta(days=SHOWN_DAYS)
    prefix = f"rules:{participant_id}:fixed_cost.handover:"
    entries = session.scalars(
        select(JournalEntryRecord).where(
            JournalEntryRecord.reason_code == REASON_HANDOVER,
            JournalEntryRecord.idempotency_key.startswith(prefix, autoescape=True),
            JournalEntryRecord.booking_date >= since,
        )
    ).all()
    confirmed = {
        (row.agreement_id, row.due_date): row.confirmed_party
        for row in session.scalars(
            select(SelfPaymentConfirmation).where(
                SelfPaymentConfirmation.participant_id == participant_id,
                SelfPaymentConfirmation.due_date >= since - dt.timedelta(days=31),
            )
        )
    }
    # A handover the bank returned or rejected is no bill to pay oneself any more: the
    # daily cycle pays the creditor directly (rules: `fixed_cost.handover_returned`), so
    # it must not show as missed.
    came_back = set(
        session.scalars(
            select(PaymentInstruction.idempotency_key).where(
                PaymentInstruction.participant_id == participant_id,
                PaymentInstruction.idempotency_key.startswith(prefix, autoescape=True),
                PaymentInstruction.status.in_(("returned", "rejected")),
            )
        )
    )
    stored = latest_plan(session, participant_id)
    bills = []
    for entry in entries:
        if entry.idempotency_key in came_back:
            continue
        meta = entry.entry_metadata
        agreement_id = str(meta[META_AGREEMENT_ID])
        due_date = dt.date.fromisoformat(str(meta[META_DUE_DATE]))
        cost = None if stored is None else stored.plan.fixed_cost(agreement_id)
        amount = session.scalar(
            select(func.max(PostingRecord.amount_cents)).where(
                PostingRecord.journal_entry_id == entry.id
            )
        )
        bills.append(
            SelfPaidBill(
                agreement_id=agreement_id,
                due_date=due_date,
                confirm_by=dt.date.fromisoformat(str(meta[META_CONFIRM_BY])),
                amount_cents=int(amount or 0),
                creditor_name="" if cost is None else cost.creditor_name,
                description="" if cost is None else (cost.description_nl or cost.creditor_name),
                confirmed_party=confirmed.get((agreement_id, due_date)),
                missed=(agreement_id, due_date) not in confirmed
                and dt.date.fromisoformat(str(meta[META_CONFIRM_BY])) < today,
            )
        )
    return sorted(bills, key=lambda bill: (bill.due_date, bill.agreement_id), reverse=True)


# ---------------------------------------------------------------------- confirming


def confirm_paid(
    session: Session,
    principal: Principal,
    participant_id: int,
    *,
    agreement_id: str,
    due_date: dt.date,
    now: dt.datetime,
) -> SelfPaymentConfirmation:
    """The participant (or their caseworker) says a handed-over bill was paid.
    Idempotent: confirming twice keeps the first confirmation. Refused after the end
    of participation (read-only), like every other change."""
    _, party = ensure_can_act_for_participant(session, principal, participant_id)
    ensure_participation_open(session, participant_id)
    handed_over = session.scalar(
        select(JournalEntryRecord.id).where(
            JournalEntryRecord.idempotency_key
            == handover_key(participant_id, agreement_id, due_date)
        )
    )
    if handed_over is None:
        raise NotFound(f"no bill of {due_date.isoformat()} was handed over to pay yourself")
    existing = session.scalar(
        select(SelfPaymentConfirmation).where(
            SelfPaymentConfirmation.participant_id == participant_id,
            SelfPaymentConfirmation.agreement_id == agreement_id,
            SelfPaymentConfirmation.due_date == due_date,
        )
    )
    if existing is not None:
        return existing
    row = SelfPaymentConfirmation(
        participant_id=participant_id,
        agreement_id=agreement_id,
        due_date=due_date,
        confirmed_by=principal.user_id,
        confirmed_party=str(party),
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def confirmations_for(
    session: Session, participant_ids: Sequence[int], today: dt.date
) -> dict[int, list[tuple[str, dt.date]]]:
    """Per participant the confirmed (agreement id, due date)s, for the daily cycle."""
    found: dict[int, list[tuple[str, dt.date]]] = defaultdict(list)
    since = today - dt.timedelta(days=CONFIRMATIONS_LOOKBACK_DAYS)
    ids = list(participant_ids)
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(
                SelfPaymentConfirmation.participant_id,
                SelfPaymentConfirmation.agreement_id,
                SelfPaymentConfirmation.due_date,
            ).where(
                SelfPaymentConfirmation.participant_id.in_(ids[start : start + 500]),
                SelfPaymentConfirmation.due_date >= since,
            )
        )
        for participant_id, agreement_id, due_date in rows:
            found[participant_id].append((agreement_id, due_date))
    return dict(found)


# ---------------------------------------------------------------------- after a miss


def missed_alerts(actions: Iterable[object]) -> list[RaiseAlert]:
    return [
        action
        for action in actions
        if isinstance(action, RaiseAlert) and action.alert_kind is AlertKind.SELF_PAYMENT_MISSED
    ]


def switch_back_after_missed(
    session: Session, alerts: Sequence[RaiseAlert], *, today: dt.date, now: dt.datetime
) -> int:
    """Switch each missed cost back to direct payment; the number of plan versions made.

    Through the emergency path of co-decision: a proposal `emergency_applied` at once,
    with the engine's explanation as its reason, so both parties see why in the
    proposal history. The caseworker on the participant's caseload is the
    responsible party; the history records the daily cycle (`system`) as the actor.
    Idempotent: a cost that is already paid directly is left alone.
    """
    made = 0
    for alert in alerts:
        try:
            with session.begin_nested():
                made += _switch_back(session, alert, today=today, now=now)
        except Exception:
            # The engine already pays the cost directly again and the alert tells the
            # caseworker; a failed plan change must not stop the participant's cycle.
            log.exception(
                "participant %s: could not switch %s back to direct payment",
                alert.participant_id,
                alert.agreement_id,
            )
    return made


def _switch_back(session: Session, alert: RaiseAlert, *, today: dt.date, now: dt.datetime) -> int:
    """One missed cost back to direct payment; 1 when a plan version was made."""
    stored = latest_plan(session, alert.participant_id)
    if stored is None or alert.agreement_id is None:
        return 0
    cost = stored.plan.fixed_cost(alert.agreement_id)
    if cost is None or not cost.paid_by_participant:
        return 0  # already paid directly (a re-run, or someone switched it off)
    row_id = session.scalar(
        select(Agreement.id).where(
            Agreement.participant_id == alert.participant_id,
            Agreement.plan_agreement_id == alert.agreement_id,
            Agreement.direction == "fixed_cost",
        )
    )
    reason = f"Automatisch door de dagelijkse verwerking. {alert.explanation_nl}"[:1000]
    caseworker = session.scalar(
        select(CaseloadAssignment.caseworker_id)
        .where(CaseloadAssignment.participant_id == alert.participant_id)
        .order_by(CaseloadAssignment.assigned_at.desc(), CaseloadAssignment.id.desc())
        .limit(1)
    )
    if row_id is None or caseworker is None:
        # No agreement row or nobody on the case: still a plan version, without a
        # proposal (the alert in the work queue tells whoever picks it up).
        body = stored.plan.model_dump()
        for item in body["fixed_costs"]:
            if item["agreement_id"] == alert.agreement_id:
                item["paid_by_participant"] = False
        apply_plan_change(
            session,
            alert.participant_id,
            Plan.model_validate(body),
            effective_from=today,
            created_by="daily-cycle",
            source=f"{SWITCH_BACK_SOURCE}:{alert.agreement_id}:{alert.subject_date}"[:100],
        )
        return 1
    change = FixedCostPaidByParticipantChange(agreement_id=row_id, paid_by_participant=False)
    proposal = Proposal(
        participant_id=alert.participant_id,
        proposed_by=caseworker,
        proposer_party=str(Party.CASEWORKER),
        kind=str(ChangeKind.FIXED_COST_PAID_BY_PARTICIPANT),
        payload=change_payload(change),
        reason=reason,
        status="emergency_applied",
        emergency=True,
        effective_from=today,
        expires_at=now,
        created_at=now,
        decided_by=None,
        decided_at=now,
        decision_reason=reason,
    )
    session.add(proposal)
    session.flush()
    for action in ("proposed", "emergency_applied"):
        session.add(
            ProposalEvent(
                proposal_id=proposal.id,
                action=action,
                actor_id=None,
                actor_party=SYSTEM_PARTY,
                reason=reason,
                created_at=now,
            )
        )
    session.flush()
    return 1 if apply_decided(session, proposal, now=now) else 0
