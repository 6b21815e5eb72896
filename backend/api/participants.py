"""A participant's own pages: summary, balances, movements, life events, the
emergency button and proposals. Every route is scoped by the policy layer:
the participant's own household or a caseworker's caseload; anyone else gets 404."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from backend.access.dependencies import (
    ID_MAX,
    AppSettings,
    CurrentUser,
    ReadableParticipant,
    acting_for,
)
from backend.access.policy import Party, party_for
from backend.api.codecision_schemas import (
    EmergencyCreate,
    EmergencyOut,
    LifeEventCreate,
    LifeEventOut,
    ProposalCreate,
    ProposalOut,
    ProposalPage,
    ProposalStatus,
    emergency_out,
    life_event_out,
    proposals_out,
)
from backend.api.deps import DbSession
from backend.api.problem_docs import problem_responses
from backend.clock import today_amsterdam
from backend.codecision import service as proposals
from backend.codecision import signals
from backend.ledger_store import account_balances
from backend.models import EmergencyRequest, LifeEvent, Participant
from backend.models.base import utcnow
from backend.participants.history import MOVEMENTS_PER_PAGE_MAX, participant_movements
from ledger import PARTICIPANT_ACCOUNT_KINDS, AccountKind, AccountRef, holding_cents

router = APIRouter(prefix="/api/participants/{participant_id}", tags=["participant"])

READ = problem_responses(401, 404)
WRITE = problem_responses(401, 403, 404, 409)

Limit = Annotated[int, Query(ge=1, le=200, description="items per page")]
Offset = Annotated[int, Query(ge=0, le=100_000)]
# Who may act (not only read): 404 outside scope, 403 for the wrong party.
EitherParty = Annotated[Participant, Depends(acting_for(Party.PARTICIPANT, Party.CASEWORKER))]
ParticipantSelf = Annotated[Participant, Depends(acting_for(Party.PARTICIPANT))]
TheirCaseworker = Annotated[Participant, Depends(acting_for(Party.CASEWORKER))]


class ParticipantSummary(BaseModel):
    id: int
    display_name: str
    household_id: int
    status: str
    started_on: dt.date
    ended_on: dt.date | None
    own_iban: str | None
    your_party: Party | None = Field(
        description="participant (yourself), caseworker, or empty for a household member"
    )


@router.get("", response_model=ParticipantSummary, summary="Who this is", responses=READ)
def summary(
    participant: ReadableParticipant, user: CurrentUser, session: DbSession
) -> ParticipantSummary:
    return ParticipantSummary(
        id=participant.id,
        display_name=participant.display_name,
        household_id=participant.household_id,
        status=participant.status,
        started_on=participant.started_on,
        ended_on=participant.ended_on,
        own_iban=participant.own_iban,
        your_party=party_for(session, user, participant.id),
    )


class AccountHolding(BaseModel):
    kind: AccountKind
    holding_cents: int = Field(
        description="what the account holds for the participant; buffer_advance is "
        "negative while the participant still owes the municipality the advance"
    )


class Balances(BaseModel):
    participant_id: int
    accounts: list[AccountHolding]
    total_held_cents: int = Field(description="available + reserved + buffer + payable")


@router.get("/balances", response_model=Balances, summary="What is held, per pot", responses=READ)
def balances(participant: ReadableParticipant, session: DbSession) -> Balances:
    raw = account_balances(session, participant_id=participant.id)
    holdings = {
        kind: holding_cents(
            AccountRef.of_participant(participant.id, kind),
            raw.get(AccountRef.of_participant(participant.id, kind), 0),
        )
        for kind in PARTICIPANT_ACCOUNT_KINDS
    }
    return Balances(
        participant_id=participant.id,
        accounts=[
            AccountHolding(kind=kind, holding_cents=cents) for kind, cents in holdings.items()
        ],
        total_held_cents=sum(
            cents for kind, cents in holdings.items() if kind is not AccountKind.BUFFER_ADVANCE
        ),
    )


class AccountChangeOut(BaseModel):
    account_kind: AccountKind
    change_cents: int = Field(description="positive: the pot holds more; negative: less")


class MovementOut(BaseModel):
    entry_id: int
    booking_date: dt.date
    reason_code: str
    explanation: str = Field(description="why, in plain Dutch")
    explanation_en: str
    reverses_entry_id: int | None
    changes: list[AccountChangeOut]


class MovementPageOut(BaseModel):
    items: list[MovementOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next (older) page")


@router.get(
    "/transactions",
    response_model=MovementPageOut,
    summary="Every movement of the participant's money, newest first, with its reason",
    responses=READ,
)
def transactions(
    participant: ReadableParticipant,
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=MOVEMENTS_PER_PAGE_MAX)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    month: Annotated[
        str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")
    ] = None,
) -> MovementPageOut:
    page = participant_movements(session, participant.id, limit=limit, cursor=cursor, month=month)
    return MovementPageOut(
        items=[
            MovementOut(
                entry_id=movement.entry_id,
                booking_date=movement.booking_date,
                reason_code=movement.reason_code,
                explanation=movement.explanation,
                explanation_en=movement.explanation_en,
                reverses_entry_id=movement.reverses_entry_id,
                changes=[
                    AccountChangeOut(
                        account_kind=change.account_kind, change_cents=change.change_cents
                    )
                    for change in movement.changes
                ],
            )
            for movement in page.movements
        ],
        next_cursor=page.next_cursor,
    )


# Life events


@router.get(
    "/life-events", response_model=list[LifeEventOut], summary="Life events", responses=READ
)
def life_events(
    participant: ReadableParticipant, session: DbSession, limit: Limit = 50, offset: Offset = 0
) -> list[LifeEventOut]:
    events = signals.list_life_events(session, participant.id, limit=limit, offset=offset)
    return [life_event_out(event) for event in events]


@router.post(
    "/life-events",
    response_model=LifeEventOut,
    status_code=201,
    summary="Tell about a life event (moving, new job, birth, ...)",
    responses=WRITE,
)
def add_life_event(
    body: LifeEventCreate, participant: EitherParty, user: CurrentUser, session: DbSession
) -> LifeEventOut:
    event = signals.add_life_event(
        session,
        user,
        participant.id,
        kind=body.kind,
        note=body.note,
        occurs_on=body.occurs_on,
        now=utcnow(),
    )
    return life_event_out(event)


def _life_event(
    participant: TheirCaseworker,
    session: DbSession,
    event_id: Annotated[int, Path(ge=1, le=ID_MAX)],
) -> LifeEvent:
    return signals.get_life_event(session, participant.id, event_id)


@router.post(
    "/life-events/{event_id}/acknowledge",
    response_model=LifeEventOut,
    summary="Caseworker: I have seen this life event",
    responses=WRITE,
)
def acknowledge_life_event(
    event: Annotated[LifeEvent, Depends(_life_event)], user: CurrentUser, session: DbSession
) -> LifeEventOut:
    signals.acknowledge(session, user, event, now=utcnow())
    return life_event_out(event)


# The emergency button


@router.get(
    "/emergency",
    response_model=list[EmergencyOut],
    summary="Emergency requests, newest first",
    responses=READ,
)
def emergencies(
    participant: ReadableParticipant, session: DbSession, limit: Limit = 50, offset: Offset = 0
) -> list[EmergencyOut]:
    requests = signals.list_emergencies(session, participant.id, limit=limit, offset=offset)
    return [emergency_out(request) for request in requests]


@router.post(
    "/emergency",
    response_model=EmergencyOut,
    status_code=201,
    summary="The emergency button: ask the caseworker for help now",
    responses=WRITE,
)
def press_emergency(
    body: EmergencyCreate, participant: ParticipantSelf, user: CurrentUser, session: DbSession
) -> EmergencyOut:
    request = signals.press_emergency(
        session, user, participant.id, kind=body.kind, note=body.note, now=utcnow()
    )
    return emergency_out(request)


def _emergency(
    participant: TheirCaseworker,
    session: DbSession,
    request_id: Annotated[int, Path(ge=1, le=ID_MAX)],
) -> EmergencyRequest:
    return signals.get_emergency(session, participant.id, request_id)


@router.post(
    "/emergency/{request_id}/acknowledge",
    response_model=EmergencyOut,
    summary="Caseworker: I have seen this emergency request",
    responses=WRITE,
)
def acknowledge_emergency(
    request: Annotated[EmergencyRequest, Depends(_emergency)],
    user: CurrentUser,
    session: DbSession,
) -> EmergencyOut:
    signals.acknowledge(session, user, request, now=utcnow())
    return emergency_out(request)


# Proposals


@router.get(
    "/proposals",
    response_model=ProposalPage,
    summary="Proposals for this participant's plan, newest first, with their full history",
    responses=READ,
)
def list_proposals(
    participant: ReadableParticipant,
    user: CurrentUser,
    session: DbSession,
    status: ProposalStatus | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> ProposalPage:
    items, total = proposals.list_for_participant(
        session, participant.id, status=status, limit=limit, offset=offset, now=utcnow()
    )
    return ProposalPage(items=proposals_out(session, user, items), total=total)


@router.post(
    "/proposals",
    response_model=ProposalOut,
    status_code=201,
    summary="Propose a change to the plan (or, caseworker, apply one in an emergency)",
    responses=WRITE,
)
def create_proposal(
    body: ProposalCreate,
    participant: EitherParty,
    user: CurrentUser,
    session: DbSession,
    settings: AppSettings,
) -> ProposalOut:
    proposal = proposals.create_proposal(
        session,
        user,
        participant.id,
        change=body.change,
        reason=body.reason,
        effective_from=body.effective_from,
        emergency=body.emergency,
        today=today_amsterdam(),
        now=utcnow(),
        expiry_days=settings.proposal_expiry_days,
    )
    return proposals_out(session, user, [proposal])[0]
