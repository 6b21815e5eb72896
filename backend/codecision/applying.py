"""The hook between co-decision and plans: turning a decided proposal into a plan version.

A proposal that is `approved` or `emergency_applied` has been decided; it
takes effect when an applier for its kind has made a new plan version from
its `effective_from` date. Appliers are registered by the plan integration
(rules/ + backend), one per change kind:

    from backend.codecision.applying import register_applier

    def apply_living_money(session, proposal, *, now) -> str:
        change = parse_change(proposal.kind, proposal.payload)   # typed model
        version = plans.new_version(session, proposal.participant_id,
                                    change, effective_from=proposal.effective_from,
                                    decided_by=proposal.decided_by, proposal_id=proposal.id)
        return f"plan_version:{version.id}"

    register_applier(ChangeKind.LIVING_MONEY_AMOUNT, apply_living_money)

An applier runs inside the transaction that decides the proposal (in a
savepoint), so the decision and the plan version commit together; it only
flushes. When no applier is registered yet, or it fails (logged, savepoint
rolled back), the proposal stays decided but not applied (`applied_at` is
NULL): the decision itself is never lost. `apply_pending` — to be called by
the daily cycle before the rules engine runs — retries those. An applier
must be idempotent per proposal id: it may be called again after a crash.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.codecision.matrix import ChangeKind
from backend.models import Proposal, ProposalEvent

DECIDED_STATUSES = ("approved", "emergency_applied")
APPLY_BATCH_MAX = 1000

log = logging.getLogger(__name__)


class ProposalApplier(Protocol):
    def __call__(self, session: Session, proposal: Proposal, *, now: dt.datetime) -> str:
        """Make the plan version for this decided proposal; return a reference to it
        (stored in proposal.applied_reference, at most 100 characters)."""
        ...


_appliers: dict[ChangeKind, ProposalApplier] = {}


def register_applier(kind: ChangeKind, applier: ProposalApplier) -> None:
    _appliers[kind] = applier


def unregister_applier(kind: ChangeKind) -> None:
    _appliers.pop(kind, None)


def apply_decided(session: Session, proposal: Proposal, *, now: dt.datetime) -> bool:
    """Apply one decided proposal if an applier exists; True when it was applied now."""
    if proposal.status not in DECIDED_STATUSES or proposal.applied_at is not None:
        return False
    applier = _appliers.get(ChangeKind(proposal.kind))
    if applier is None:
        return False
    try:
        with session.begin_nested():
            reference = applier(session, proposal, now=now)
            if not isinstance(reference, str) or not 0 < len(reference) <= 100:
                raise ValueError("an applier returns a reference of 1 to 100 characters")
            proposal.applied_at = now
            proposal.applied_reference = reference
            session.add(
                ProposalEvent(
                    proposal_id=proposal.id,
                    action="applied",
                    actor_id=None,
                    actor_party=None,
                    reason=f"in effect from {proposal.effective_from.isoformat()} ({reference})",
                    created_at=now,
                )
            )
            session.flush()
    except Exception:
        log.exception("proposal %s (%s) could not be applied yet", proposal.id, proposal.kind)
        session.refresh(proposal)
        return False
    return True


def pending_application(session: Session, *, limit: int = APPLY_BATCH_MAX) -> list[Proposal]:
    """Decided proposals that have not become a plan version yet, oldest decision first."""
    return list(
        session.scalars(
            select(Proposal)
            .where(Proposal.status.in_(DECIDED_STATUSES), Proposal.applied_at.is_(None))
            .order_by(Proposal.decided_at, Proposal.id)
            .limit(limit)
        )
    )


def apply_pending(session: Session, *, now: dt.datetime, limit: int = APPLY_BATCH_MAX) -> int:
    """Apply what can be applied; the number applied. For the daily cycle."""
    return sum(
        1
        for proposal in pending_application(session, limit=limit)
        if apply_decided(session, proposal, now=now)
    )
