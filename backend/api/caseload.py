"""The caseworker's caseload, with what waits for them per participant."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.access.dependencies import require_roles
from backend.access.policy import Principal, caseload_participant_ids, record_participant_access
from backend.access.roles import Role
from backend.api.deps import DbSession
from backend.api.problem_docs import problem_responses
from backend.codecision.service import expire_due
from backend.models import EmergencyRequest, LifeEvent, Participant, Proposal
from backend.models.base import utcnow

router = APIRouter(prefix="/api", tags=["caseworker"])


class CaseloadEntry(BaseModel):
    participant_id: int
    display_name: str
    status: str
    started_on: dt.date
    open_proposals: int = Field(description="proposals waiting for a decision")
    open_emergencies: int = Field(description="emergency requests not yet acknowledged")
    open_life_events: int = Field(description="life events not yet acknowledged")


def _counts(
    session: Session, model: type[LifeEvent | EmergencyRequest], ids: list[int]
) -> dict[int, int]:
    rows = session.execute(
        select(model.participant_id, func.count())
        .where(model.participant_id.in_(ids), model.acknowledged_at.is_(None))
        .group_by(model.participant_id)
    )
    return {participant_id: int(count) for participant_id, count in rows}


@router.get(
    "/caseload",
    response_model=list[CaseloadEntry],
    summary="Caseworker: my participants and what waits for me",
    responses=problem_responses(401, 403),
)
def caseload(
    user: Annotated[Principal, Depends(require_roles(Role.CASEWORKER))], session: DbSession
) -> list[CaseloadEntry]:
    ids = sorted(caseload_participant_ids(session, user.user_id))
    if not ids:
        return []
    now = utcnow()
    for participant_id in ids:
        record_participant_access(session, user, participant_id)  # names and counts shown
        expire_due(session, now=now, participant_id=participant_id)
    proposals = {
        int(participant_id): int(count)
        for participant_id, count in session.execute(
            select(Proposal.participant_id, func.count())
            .where(Proposal.participant_id.in_(ids), Proposal.status == "proposed")
            .group_by(Proposal.participant_id)
        )
    }
    emergencies = _counts(session, EmergencyRequest, ids)
    life_events = _counts(session, LifeEvent, ids)
    participants = session.scalars(
        select(Participant).where(Participant.id.in_(ids)).order_by(Participant.display_name)
    )
    return [
        CaseloadEntry(
            participant_id=participant.id,
            display_name=participant.display_name,
            status=participant.status,
            started_on=participant.started_on,
            open_proposals=proposals.get(participant.id, 0),
            open_emergencies=emergencies.get(participant.id, 0),
            open_life_events=life_events.get(participant.id, 0),
        )
        for participant in participants
    ]
