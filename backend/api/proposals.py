"""Deciding on proposals: approve, reject (with a reason), withdraw; and the
finance queue of creditor-IBAN corrections waiting for their check."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from backend.access.dependencies import ID_MAX, CurrentUser, require_permissions
from backend.access.policy import Principal, record_participant_access
from backend.access.roles import Permission
from backend.api.codecision_schemas import (
    ProposalDecision,
    ProposalOut,
    ProposalRejection,
    proposals_out,
)
from backend.api.deps import DbSession
from backend.api.problem_docs import problem_responses
from backend.clock import today_amsterdam
from backend.codecision import service
from backend.models import Proposal
from backend.models.base import utcnow

router = APIRouter(prefix="/api/proposals", tags=["proposals"])

DECIDE = problem_responses(401, 403, 404, 409)


@router.get(
    "/pending-checks",
    response_model=list[ProposalOut],
    summary="Finance: creditor IBAN corrections waiting for a second check, oldest first",
    responses=problem_responses(401, 403),
)
def pending_checks(
    user: Annotated[Principal, Depends(require_permissions(Permission.CREDITOR_CHECK))],
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> list[ProposalOut]:
    items = service.pending_checks(session, limit=limit, offset=offset, now=utcnow())
    for participant_id in sorted({item.participant_id for item in items}):
        record_participant_access(session, user, participant_id)
    return proposals_out(session, user, items)


def visible_proposal(
    proposal_id: Annotated[int, Path(ge=1, le=ID_MAX)], user: CurrentUser, session: DbSession
) -> Proposal:
    return service.load_visible(session, user, proposal_id)


VisibleProposal = Annotated[Proposal, Depends(visible_proposal)]


@router.get(
    "/{proposal_id}",
    response_model=ProposalOut,
    summary="One proposal with its history",
    responses=problem_responses(401, 404),
)
def get_proposal(proposal: VisibleProposal, user: CurrentUser, session: DbSession) -> ProposalOut:
    service.expire_due(session, now=utcnow(), participant_id=proposal.participant_id)
    return proposals_out(session, user, [proposal])[0]


@router.post(
    "/{proposal_id}/approve",
    response_model=ProposalOut,
    summary="Approve (the other party only): the change takes effect from its date",
    responses=DECIDE,
)
def approve(
    body: ProposalDecision, proposal: VisibleProposal, user: CurrentUser, session: DbSession
) -> ProposalOut:
    service.approve(
        session, user, proposal, reason=body.reason, today=today_amsterdam(), now=utcnow()
    )
    return proposals_out(session, user, [proposal])[0]


@router.post(
    "/{proposal_id}/reject",
    response_model=ProposalOut,
    summary="Reject (the other party only), with a reason",
    responses=DECIDE,
)
def reject(
    body: ProposalRejection, proposal: VisibleProposal, user: CurrentUser, session: DbSession
) -> ProposalOut:
    service.reject(session, user, proposal, reason=body.reason, now=utcnow())
    return proposals_out(session, user, [proposal])[0]


@router.post(
    "/{proposal_id}/withdraw",
    response_model=ProposalOut,
    summary="Withdraw your own open proposal",
    responses=DECIDE,
)
def withdraw(
    body: ProposalDecision, proposal: VisibleProposal, user: CurrentUser, session: DbSession
) -> ProposalOut:
    service.withdraw(session, user, proposal, reason=body.reason, now=utcnow())
    return proposals_out(session, user, [proposal])[0]
