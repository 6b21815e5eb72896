"""Response and request schemas of the co-decision API, shared by its routers."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.access.policy import Party, Principal
from backend.codecision.changes import PlanChange, parse_change
from backend.codecision.matrix import MATRIX, REASON_LENGTH_MAX, ChangeKind
from backend.codecision.service import available_actions, events_by_proposal
from backend.codecision.signals import EmergencyKind, LifeEventKind
from backend.models import EmergencyRequest, LifeEvent, Proposal, UserAccount

ProposalStatus = Literal[
    "proposed", "approved", "rejected", "withdrawn", "expired", "emergency_applied"
]
ProposalAction = Literal["approve", "reject", "withdraw"]


class PersonRef(BaseModel):
    user_id: int
    display_name: str
    party: Party | None = None


class ProposalEventOut(BaseModel):
    action: str = Field(
        description="proposed, approved, rejected, withdrawn, expired, emergency_applied, applied"
    )
    at: dt.datetime
    by: PersonRef | None = Field(description="empty for steps the system took (expiry)")
    reason: str | None


class ProposalOut(BaseModel):
    id: int
    participant_id: int
    kind: ChangeKind
    change: PlanChange
    reason: str
    status: ProposalStatus
    emergency: bool = Field(description="applied by the caseworker alone; `reason` says why")
    effective_from: dt.date
    expires_at: dt.datetime
    proposed_by: PersonRef
    decided_by: PersonRef | None
    decided_at: dt.datetime | None
    decision_reason: str | None
    applied_at: dt.datetime | None = Field(description="when it became part of the plan")
    needs_decision_from: list[Party]
    actions: list[ProposalAction] = Field(description="what the caller may do now")
    history: list[ProposalEventOut]


class ProposalPage(BaseModel):
    items: list[ProposalOut]
    total: int


class ProposalCreate(BaseModel):
    change: PlanChange
    reason: str = Field(min_length=1, max_length=REASON_LENGTH_MAX)
    effective_from: dt.date | None = Field(default=None, description="default: today")
    emergency: bool = Field(
        default=False,
        description="caseworker only, for kinds the decision matrix allows; "
        "applies at once, the reason is shown to the participant",
    )


class ProposalDecision(BaseModel):
    reason: str | None = Field(default=None, max_length=REASON_LENGTH_MAX)


class ProposalRejection(BaseModel):
    reason: str = Field(min_length=1, max_length=REASON_LENGTH_MAX)


def _people(session: Session, user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    rows = session.execute(
        select(UserAccount.id, UserAccount.display_name).where(UserAccount.id.in_(user_ids))
    )
    return {int(user_id): str(name) for user_id, name in rows}


def proposals_out(
    session: Session, principal: Principal, proposals: list[Proposal]
) -> list[ProposalOut]:
    history = events_by_proposal(session, [proposal.id for proposal in proposals])
    ids: set[int] = set()
    for proposal in proposals:
        ids.add(proposal.proposed_by)
        if proposal.decided_by is not None:
            ids.add(proposal.decided_by)
        ids.update(e.actor_id for e in history[proposal.id] if e.actor_id is not None)
    names = _people(session, ids)

    def person(user_id: int | None, party: str | None) -> PersonRef | None:
        if user_id is None:
            return None
        return PersonRef(
            user_id=user_id,
            display_name=names.get(user_id, "?"),
            party=Party(party) if party else None,
        )

    result = []
    for proposal in proposals:
        rule = MATRIX[ChangeKind(proposal.kind)]
        decider_party = next(
            (e.actor_party for e in history[proposal.id] if e.actor_id == proposal.decided_by),
            None,
        )
        proposer = person(proposal.proposed_by, proposal.proposer_party)
        assert proposer is not None
        result.append(
            ProposalOut(
                id=proposal.id,
                participant_id=proposal.participant_id,
                kind=rule.kind,
                change=parse_change(proposal.kind, proposal.payload),
                reason=proposal.reason,
                status=proposal.status,  # type: ignore[arg-type]
                emergency=proposal.emergency,
                effective_from=proposal.effective_from,
                expires_at=proposal.expires_at,
                proposed_by=proposer,
                decided_by=person(proposal.decided_by, decider_party),
                decided_at=proposal.decided_at,
                decision_reason=proposal.decision_reason,
                applied_at=proposal.applied_at,
                needs_decision_from=sorted(rule.approvers(Party(proposal.proposer_party)))
                if proposal.status == "proposed"
                else [],
                actions=available_actions(session, principal, proposal),  # type: ignore[arg-type]
                history=[
                    ProposalEventOut(
                        action=event.action,
                        at=event.created_at,
                        by=person(event.actor_id, event.actor_party),
                        reason=event.reason,
                    )
                    for event in history[proposal.id]
                ],
            )
        )
    return result


class LifeEventCreate(BaseModel):
    kind: LifeEventKind
    note: str = Field(default="", max_length=1000)
    occurs_on: dt.date | None = None


class Acknowledgement(BaseModel):
    by_user_id: int
    at: dt.datetime


class LifeEventOut(BaseModel):
    id: int
    participant_id: int
    kind: LifeEventKind
    note: str
    occurs_on: dt.date | None
    created_by_user_id: int
    created_at: dt.datetime
    acknowledged: Acknowledgement | None


class EmergencyCreate(BaseModel):
    kind: EmergencyKind
    note: str = Field(default="", max_length=1000)


class EmergencyOut(BaseModel):
    id: int
    participant_id: int
    kind: EmergencyKind
    note: str
    created_by_user_id: int
    created_at: dt.datetime
    acknowledged: Acknowledgement | None


def _acknowledgement(signal: LifeEvent | EmergencyRequest) -> Acknowledgement | None:
    if signal.acknowledged_at is None or signal.acknowledged_by is None:
        return None
    return Acknowledgement(by_user_id=signal.acknowledged_by, at=signal.acknowledged_at)


def life_event_out(event: LifeEvent) -> LifeEventOut:
    return LifeEventOut(
        id=event.id,
        participant_id=event.participant_id,
        kind=LifeEventKind(event.kind),
        note=event.note,
        occurs_on=event.occurs_on,
        created_by_user_id=event.created_by,
        created_at=event.created_at,
        acknowledged=_acknowledgement(event),
    )


def emergency_out(request: EmergencyRequest) -> EmergencyOut:
    return EmergencyOut(
        id=request.id,
        participant_id=request.participant_id,
        kind=EmergencyKind(request.kind),
        note=request.note,
        created_by_user_id=request.created_by,
        created_at=request.created_at,
        acknowledged=_acknowledgement(request),
    )
