"""Co-decision: proposals and their state machine.

    proposed ──approve (other party)──▶ approved ──(applier)──▶ in a plan version
        │──reject (other party, reason)──▶ rejected
        │──withdraw (proposer)──────────▶ withdrawn
        └──expires_at passes────────────▶ expired
    (caseworker, emergency kinds only, written reason) ──▶ emergency_applied

Who may propose and approve which kind is the decision matrix
(backend.codecision.matrix); who is which party is the policy layer. The
proposer can never approve or reject their own proposal. Every step is a
proposal_event row, shown to both parties. Services only flush.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from backend.access.policy import (
    Party,
    Principal,
    can_read_participant,
    ensure_can_act_for_participant,
    has_permission,
    party_for,
    record_participant_access,
)
from backend.access.roles import Permission
from backend.codecision.applying import apply_decided
from backend.codecision.changes import (
    CreditorIbanCorrectionChange,
    ExtraPayoutChange,
    FixedCostAmountChange,
    FixedCostRemoveChange,
    InitialPlanChange,
    PlanChange,
    change_payload,
)
from backend.codecision.matrix import (
    EMERGENCY_EXTRA_PAYOUT_CENTS_MAX,
    EMERGENCY_REASON_LENGTH_MIN,
    MATRIX,
    REASON_LENGTH_MAX,
    ChangeKind,
    ChangeRule,
    Decision,
)
from backend.errors import Conflict, Forbidden, InvalidInput, NotFound
from backend.models import Agreement, PlanVersionRecord, Proposal, ProposalEvent
from privacy.activities import PAYMENTS

OPEN = "proposed"
EFFECTIVE_DAYS_AHEAD_MAX = 366
PROPOSALS_PER_PAGE_MAX = 200
EXPIRE_BATCH_MAX = 1000


def _optional_reason(text: str | None, *, what: str, length_min: int = 1) -> str | None:
    cleaned = (text or "").strip()
    if not cleaned:
        return None
    if len(cleaned) < length_min:
        raise InvalidInput(f"{what}: write at least {length_min} characters")
    if len(cleaned) > REASON_LENGTH_MAX:
        raise InvalidInput(f"{what}: at most {REASON_LENGTH_MAX} characters")
    return cleaned


def _required_reason(text: str | None, *, what: str, length_min: int = 1) -> str:
    cleaned = _optional_reason(text, what=what, length_min=length_min)
    if cleaned is None:
        raise InvalidInput(f"{what}: a reason is required")
    return cleaned


def _event(
    session: Session,
    proposal: Proposal,
    action: str,
    *,
    actor: Principal | None,
    party: Party | None,
    reason: str | None,
    at: dt.datetime,
) -> None:
    session.add(
        ProposalEvent(
            proposal_id=proposal.id,
            action=action,
            actor_id=actor.user_id if actor else None,
            actor_party=str(party) if party else None,
            reason=reason,
            created_at=at,
        )
    )


def _check_references(
    session: Session, participant_id: int, change: PlanChange, today: dt.date
) -> None:
    """A change may only point at this participant's own agreements and creditors."""
    if isinstance(change, FixedCostRemoveChange | FixedCostAmountChange):
        agreement = session.get(Agreement, change.agreement_id)
        if (
            agreement is None
            or agreement.participant_id != participant_id
            or agreement.direction != "fixed_cost"
        ):
            raise InvalidInput(f"agreement {change.agreement_id} is not a fixed cost of this plan")
    if isinstance(change, InitialPlanChange):
        # Onboarding only: the first plan, for this participant, who has none yet.
        has_plan = session.scalar(
            select(PlanVersionRecord.id).where(PlanVersionRecord.participant_id == participant_id)
        )
        if change.plan.participant_id != participant_id or has_plan is not None:
            raise InvalidInput("a first plan is only for a participant without a plan")
    if change.kind in ("agreement_follow_up", "agreement_copy", "agreement_end"):
        # Follow up / copy / end an agreement (issue 8): checked against the latest plan,
        # so an unknown agreement or an end before the start is refused before storing.
        from backend.plans.agreement_changes import check_agreement_change

        check_agreement_change(session, participant_id, change, today=today)
    if isinstance(change, CreditorIbanCorrectionChange):
        found = session.scalar(
            select(Agreement.id).where(
                Agreement.participant_id == participant_id,
                Agreement.counterparty_id == change.counterparty_id,
            )
        )
        if found is None:
            raise InvalidInput(f"counterparty {change.counterparty_id} is not in this plan")


def create_proposal(
    session: Session,
    principal: Principal,
    participant_id: int,
    *,
    change: PlanChange,
    reason: str,
    effective_from: dt.date | None,
    emergency: bool,
    today: dt.date,
    now: dt.datetime,
    expiry_days: int,
) -> Proposal:
    rule = MATRIX[ChangeKind(change.kind)]
    _, party = ensure_can_act_for_participant(session, principal, participant_id)
    _ensure_not_ended(session, participant_id, change)
    if party not in rule.proposers:
        raise Forbidden(f"a {party} cannot propose a {rule.kind} change")
    effective = effective_from or today
    if effective < today or effective > today + dt.timedelta(days=EFFECTIVE_DAYS_AHEAD_MAX):
        raise InvalidInput(
            f"effective_from must be from today up to {EFFECTIVE_DAYS_AHEAD_MAX} days ahead"
        )
    _check_references(session, participant_id, change, today)
    if change.kind == "fixed_cost_paid_by_participant":
        # Zelfregie step 3 (issue 12): on from step 3 only; an emergency only switches it off.
        from backend.zelfregie.self_payment import check_paid_by_participant

        check_paid_by_participant(session, participant_id, change, effective, emergency=emergency)
    if emergency:
        checked_reason = _emergency_checks(rule, party, change, reason)
    else:
        checked_reason = _required_reason(reason, what="reason")
    claimed = None
    if isinstance(change, ExtraPayoutChange) and change.emergency_request_id is not None:
        # One emergency request, at most one payout: lock it, refuse when already handled.
        from backend.plans.one_off import claim_emergency_request

        claimed = claim_emergency_request(session, participant_id, change.emergency_request_id)
    if emergency and isinstance(change, ExtraPayoutChange):
        # One-off payout: refused before anything is stored when the money is not there.
        from backend.plans.one_off import check_extra_payout

        check_extra_payout(session, participant_id, change, today)
    if rule.one_open_at_a_time and not emergency:
        expire_due(session, now=now, participant_id=participant_id)
        open_id = session.scalar(
            select(Proposal.id).where(
                Proposal.participant_id == participant_id,
                Proposal.kind == rule.kind,
                Proposal.status == OPEN,
            )
        )
        if open_id is not None:
            raise Conflict(
                f"proposal {open_id} about the same thing is still open; "
                "decide or withdraw it first"
            )
    proposal = Proposal(
        participant_id=participant_id,
        proposed_by=principal.user_id,
        proposer_party=str(party),
        kind=str(rule.kind),
        payload=change_payload(change),
        reason=checked_reason,
        status="emergency_applied" if emergency else OPEN,
        emergency=emergency,
        effective_from=effective,
        expires_at=now + dt.timedelta(days=expiry_days),
        created_at=now,
    )
    if emergency:
        proposal.decided_by = principal.user_id
        proposal.decided_at = now
        proposal.decision_reason = checked_reason
    session.add(proposal)
    session.flush()
    _event(
        session, proposal, "proposed", actor=principal, party=party, reason=checked_reason, at=now
    )
    if emergency:
        _event(
            session,
            proposal,
            "emergency_applied",
            actor=principal,
            party=party,
            reason=checked_reason,
            at=now,
        )
    session.flush()
    if emergency:
        apply_decided(session, proposal, now=now)
        if claimed is not None and claimed.acknowledged_at is None:
            # Handled even when the applier has to be retried later: no second payout.
            claimed.acknowledged_by = principal.user_id
            claimed.acknowledged_at = now
            session.flush()
    elif change.kind in ("living_money_schedule", "living_money_amount"):
        # Zelfregie step 2 (issue 12): within the limits the participant decides alone.
        from backend.zelfregie.payout_choice import approve_within_limits

        approve_within_limits(session, proposal, party=party, today=today, now=now)
    return proposal


def _ensure_not_ended(session: Session, participant_id: int, change: PlanChange | None) -> None:
    """Ending participation (backend.ending): after the end nothing changes any more."""
    from backend.ending.guard import ensure_participation_open
    from backend.ending.service import check_can_propose_end

    ensure_participation_open(session, participant_id)
    if change is not None and ChangeKind(change.kind) is ChangeKind.END_PARTICIPATION:
        check_can_propose_end(session, participant_id)


def _emergency_checks(rule: ChangeRule, party: Party, change: PlanChange, reason: str) -> str:
    if party is not Party.CASEWORKER:
        raise Forbidden("only the caseworker can use the emergency path")
    if not rule.emergency:
        raise Forbidden(f"a {rule.kind} change always needs both parties, also in an emergency")
    if isinstance(change, ExtraPayoutChange):
        # The configured cap (HUISHOUDBOEKJE_EMERGENCY_PAYOUT_CAP_CENTS), never above the
        # documented one.
        from backend.plans.one_off import emergency_payout_cap_cents

        cap = min(emergency_payout_cap_cents(), EMERGENCY_EXTRA_PAYOUT_CENTS_MAX)
        if change.amount_cents > cap:
            raise InvalidInput(
                f"an emergency extra payout is at most {cap} cents; more needs both parties"
            )
    return _required_reason(reason, what="emergency reason", length_min=EMERGENCY_REASON_LENGTH_MIN)


def can_see_proposal(session: Session, principal: Principal, proposal: Proposal) -> bool:
    if can_read_participant(session, principal, proposal.participant_id):
        return True
    rule = MATRIX[ChangeKind(proposal.kind)]
    allowed = rule.decision is Decision.FINANCE_CHECK and has_permission(
        principal, Permission.CREDITOR_CHECK
    )
    if allowed:
        record_participant_access(session, principal, proposal.participant_id, activity=PAYMENTS)
    return allowed


def load_visible(session: Session, principal: Principal, proposal_id: int) -> Proposal:
    """The proposal, or NotFound when it does not exist or is outside the caller's scope."""
    proposal = session.get(Proposal, proposal_id)
    if proposal is None or not can_see_proposal(session, principal, proposal):
        raise NotFound(f"proposal {proposal_id} was not found")
    return proposal


def _decider_party(session: Session, principal: Principal, proposal: Proposal) -> Party | None:
    rule = MATRIX[ChangeKind(proposal.kind)]
    if rule.decision is Decision.FINANCE_CHECK:
        return Party.FINANCE if has_permission(principal, Permission.CREDITOR_CHECK) else None
    return party_for(session, principal, proposal.participant_id)


def _ensure_open(session: Session, proposal: Proposal, now: dt.datetime) -> None:
    if proposal.status == OPEN and proposal.expires_at <= now:
        _expire(session, proposal)
    if proposal.status != OPEN:
        raise Conflict(f"proposal {proposal.id} is {proposal.status}; it can no longer change")


def _ensure_decider(session: Session, principal: Principal, proposal: Proposal) -> Party:
    if principal.user_id == proposal.proposed_by:
        raise Forbidden("you made this proposal; the other party decides on it")
    rule = MATRIX[ChangeKind(proposal.kind)]
    party = _decider_party(session, principal, proposal)
    if party is None or party not in rule.approvers(Party(proposal.proposer_party)):
        who = " or ".join(sorted(rule.approvers(Party(proposal.proposer_party))))
        raise Forbidden(f"only the {who} decides on this proposal")
    return party


def _transition(session: Session, proposal: Proposal, status: str, **values: Any) -> None:
    """Move an open proposal on; refused if someone else moved it first."""
    result = cast(
        CursorResult[Any],
        session.execute(
            update(Proposal)
            .where(Proposal.id == proposal.id, Proposal.status == OPEN)
            .values(status=status, **values)
            .execution_options(synchronize_session=False)
        ),
    )
    if result.rowcount != 1:
        raise Conflict(f"proposal {proposal.id} was decided a moment ago; reload it")
    session.refresh(proposal)


def approve(
    session: Session,
    principal: Principal,
    proposal: Proposal,
    *,
    reason: str | None,
    today: dt.date,
    now: dt.datetime,
) -> Proposal:
    _ensure_open(session, proposal, now)
    party = _ensure_decider(session, principal, proposal)
    _ensure_not_ended(session, proposal.participant_id, None)
    note = _optional_reason(reason, what="reason")
    values: dict[str, Any] = {"decided_by": principal.user_id, "decided_at": now}
    values["decision_reason"] = note
    if proposal.effective_from < today:
        values["effective_from"] = today
    if proposal.kind == ChangeKind.EXTRA_PAYOUT:
        # One-off payout: refused before the decision when the money is not there.
        from backend.codecision.changes import parse_change
        from backend.plans.one_off import check_extra_payout

        change = parse_change(proposal.kind, dict(proposal.payload))
        assert isinstance(change, ExtraPayoutChange)
        check_extra_payout(session, proposal.participant_id, change, today)
    _transition(session, proposal, "approved", **values)
    _event(session, proposal, "approved", actor=principal, party=party, reason=note, at=now)
    session.flush()
    apply_decided(session, proposal, now=now)
    return proposal


def reject(
    session: Session, principal: Principal, proposal: Proposal, *, reason: str, now: dt.datetime
) -> Proposal:
    _ensure_open(session, proposal, now)
    party = _ensure_decider(session, principal, proposal)
    note = _required_reason(reason, what="reason for rejecting")
    _transition(
        session,
        proposal,
        "rejected",
        decided_by=principal.user_id,
        decided_at=now,
        decision_reason=note,
    )
    _event(session, proposal, "rejected", actor=principal, party=party, reason=note, at=now)
    session.flush()
    return proposal


def withdraw(
    session: Session,
    principal: Principal,
    proposal: Proposal,
    *,
    reason: str | None,
    now: dt.datetime,
) -> Proposal:
    _ensure_open(session, proposal, now)
    if principal.user_id != proposal.proposed_by:
        raise Forbidden("only who made a proposal can withdraw it")
    note = _optional_reason(reason, what="reason")
    _transition(
        session,
        proposal,
        "withdrawn",
        decided_by=principal.user_id,
        decided_at=now,
        decision_reason=note,
    )
    _event(
        session,
        proposal,
        "withdrawn",
        actor=principal,
        party=Party(proposal.proposer_party),
        reason=note,
        at=now,
    )
    session.flush()
    return proposal


def _expire(session: Session, proposal: Proposal) -> None:
    session.execute(
        update(Proposal)
        .where(Proposal.id == proposal.id, Proposal.status == OPEN)
        .values(status="expired", decided_at=proposal.expires_at)
        .execution_options(synchronize_session=False)
    )
    _event(
        session,
        proposal,
        "expired",
        actor=None,
        party=None,
        reason="nobody decided in time",
        at=proposal.expires_at,
    )
    session.flush()
    session.refresh(proposal)


def expire_due(session: Session, *, now: dt.datetime, participant_id: int | None = None) -> int:
    """Mark open proposals whose time is up as expired; the number expired.
    Called before proposals are listed or acted on, and by the daily cycle."""
    query = select(Proposal).where(Proposal.status == OPEN, Proposal.expires_at <= now)
    if participant_id is not None:
        query = query.where(Proposal.participant_id == participant_id)
    due = list(session.scalars(query.order_by(Proposal.id).limit(EXPIRE_BATCH_MAX)))
    for proposal in due:
        _expire(session, proposal)
    return len(due)


def list_for_participant(
    session: Session,
    participant_id: int,
    *,
    status: str | None,
    limit: int,
    offset: int,
    now: dt.datetime,
) -> tuple[list[Proposal], int]:
    expire_due(session, now=now, participant_id=participant_id)
    query = select(Proposal).where(Proposal.participant_id == participant_id)
    if status is not None:
        query = query.where(Proposal.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = session.scalars(
        query.order_by(Proposal.created_at.desc(), Proposal.id.desc())
        .limit(min(limit, PROPOSALS_PER_PAGE_MAX))
        .offset(offset)
    )
    return list(page), int(total)


def pending_checks(
    session: Session, *, limit: int, offset: int, now: dt.datetime
) -> list[Proposal]:
    """Open proposals that wait for a finance check, oldest first."""
    expire_due(session, now=now)
    kinds = [str(rule.kind) for rule in MATRIX.values() if rule.decision is Decision.FINANCE_CHECK]
    return list(
        session.scalars(
            select(Proposal)
            .where(Proposal.status == OPEN, Proposal.kind.in_(kinds))
            .order_by(Proposal.created_at, Proposal.id)
            .limit(min(limit, PROPOSALS_PER_PAGE_MAX))
            .offset(offset)
        )
    )


def events_by_proposal(
    session: Session, proposal_ids: Sequence[int]
) -> dict[int, list[ProposalEvent]]:
    events: dict[int, list[ProposalEvent]] = defaultdict(list)
    if not proposal_ids:
        return events
    rows = session.scalars(
        select(ProposalEvent)
        .where(ProposalEvent.proposal_id.in_(list(proposal_ids)))
        .order_by(ProposalEvent.id)
    )
    for event in rows:
        events[event.proposal_id].append(event)
    return events


def available_actions(session: Session, principal: Principal, proposal: Proposal) -> list[str]:
    """What this caller may do with the proposal now (for buttons in the apps)."""
    if proposal.status != OPEN:
        return []
    if principal.user_id == proposal.proposed_by:
        return ["withdraw"]
    rule = MATRIX[ChangeKind(proposal.kind)]
    party = _decider_party(session, principal, proposal)
    if party is not None and party in rule.approvers(Party(proposal.proposer_party)):
        return ["approve", "reject"]
    return []
