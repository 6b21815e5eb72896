"""Co-decision: plan changes as proposals, decided by participant and caseworker
together (backend.codecision.matrix), plus life events and the emergency button.

The plan integration hooks in through backend.codecision.applying.
"""

from backend.codecision.applying import (
    ProposalApplier,
    apply_decided,
    apply_pending,
    pending_application,
    register_applier,
    unregister_applier,
)
from backend.codecision.changes import PlanChange, parse_change
from backend.codecision.matrix import MATRIX, ChangeKind, ChangeRule, Decision
from backend.codecision.service import expire_due

__all__ = [
    "MATRIX",
    "ChangeKind",
    "ChangeRule",
    "Decision",
    "PlanChange",
    "ProposalApplier",
    "apply_decided",
    "apply_pending",
    "expire_due",
    "parse_change",
    "pending_application",
    "register_applier",
    "unregister_applier",
]
