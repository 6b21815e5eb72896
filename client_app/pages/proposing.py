"""Co-decision proposals made from a page form: one way to call the service, and one
way to turn a refusal into a message on the form."""

from __future__ import annotations

import datetime as dt

from fastapi import Request
from sqlalchemy.orm import Session

from backend.access.policy import Principal
from backend.codecision import service as proposals_service
from backend.codecision.changes import PlanChange
from backend.errors import AppError
from backend.models import Proposal
from backend.models.base import utcnow
from client_app.web.rendering import page_today


def propose(
    request: Request,
    session: Session,
    principal: Principal,
    participant_id: int,
    *,
    change: PlanChange,
    reason: str,
    effective_from: dt.date | None = None,
    emergency: bool = False,
) -> Proposal:
    """A proposal on the day the page shows, expiring after the configured days."""
    return proposals_service.create_proposal(
        session,
        principal,
        participant_id,
        change=change,
        reason=reason,
        effective_from=effective_from,
        emergency=emergency,
        today=page_today(request),
        now=utcnow(),
        expiry_days=request.app.state.settings.proposal_expiry_days,
    )


def propose_or_refusal(
    request: Request,
    session: Session,
    principal: Principal,
    participant_id: int,
    *,
    change: PlanChange,
    reason: str,
    effective_from: dt.date | None = None,
) -> AppError | None:
    """`propose`, or the refusal to show on the form (a 422 page). In a savepoint, not
    a rollback: this request's access-log records stay, and the 422 page shows the
    participant's data again (a read to log). Not allowed (403) or not found (404)
    are not form errors: they end the request."""
    try:
        with session.begin_nested():
            propose(
                request,
                session,
                principal,
                participant_id,
                change=change,
                reason=reason,
                effective_from=effective_from,
            )
    except AppError as error:
        if error.status_code in (403, 404):
            raise
        return error
    return None
