"""Life events and the emergency button: the participant (or caseworker) tells,
the caseworker acknowledges. Services only flush."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.access.policy import Party, Principal, ensure_can_act_for_participant
from backend.errors import NotFound
from backend.models import EmergencyRequest, LifeEvent

SIGNALS_PER_PAGE_MAX = 200


class LifeEventKind(enum.StrEnum):
    MOVING = "moving"
    NEW_JOB = "new_job"
    JOB_LOSS = "job_loss"
    INCOME_CHANGE = "income_change"
    BIRTH = "birth"
    SEPARATION = "separation"
    HOSPITAL_STAY = "hospital_stay"
    DEATH_IN_FAMILY = "death_in_family"
    OTHER = "other"


class EmergencyKind(enum.StrEnum):
    NO_MONEY_FOR_FOOD = "no_money_for_food"
    CUT_OFF_THREATENED = "cut_off_threatened"  # energy or water
    EVICTION_THREATENED = "eviction_threatened"
    OTHER = "other"


def _ensure_open(session: Session, participant_id: int) -> None:
    """After the end (backend.ending) nothing changes any more: the same 409
    `participation_ended` as for proposals."""
    from backend.ending.guard import ensure_participation_open

    ensure_participation_open(session, participant_id)


def add_life_event(
    session: Session,
    principal: Principal,
    participant_id: int,
    *,
    kind: LifeEventKind,
    note: str,
    occurs_on: dt.date | None,
    now: dt.datetime,
) -> LifeEvent:
    ensure_can_act_for_participant(session, principal, participant_id)
    _ensure_open(session, participant_id)
    event = LifeEvent(
        participant_id=participant_id,
        kind=str(kind),
        note=note.strip(),
        occurs_on=occurs_on,
        created_by=principal.user_id,
        created_at=now,
    )
    session.add(event)
    session.flush()
    return event


def list_life_events(
    session: Session, participant_id: int, *, limit: int, offset: int
) -> list[LifeEvent]:
    return list(
        session.scalars(
            select(LifeEvent)
            .where(LifeEvent.participant_id == participant_id)
            .order_by(LifeEvent.created_at.desc(), LifeEvent.id.desc())
            .limit(min(limit, SIGNALS_PER_PAGE_MAX))
            .offset(offset)
        )
    )


def press_emergency(
    session: Session,
    principal: Principal,
    participant_id: int,
    *,
    kind: EmergencyKind,
    note: str,
    now: dt.datetime,
) -> EmergencyRequest:
    """The emergency button is the participant's own."""
    ensure_can_act_for_participant(
        session, principal, participant_id, parties=frozenset({Party.PARTICIPANT})
    )
    _ensure_open(session, participant_id)
    request = EmergencyRequest(
        participant_id=participant_id,
        kind=str(kind),
        note=note.strip(),
        created_by=principal.user_id,
        created_at=now,
    )
    session.add(request)
    session.flush()
    return request


def list_emergencies(
    session: Session, participant_id: int, *, limit: int, offset: int
) -> list[EmergencyRequest]:
    return list(
        session.scalars(
            select(EmergencyRequest)
            .where(EmergencyRequest.participant_id == participant_id)
            .order_by(EmergencyRequest.created_at.desc(), EmergencyRequest.id.desc())
            .limit(min(limit, SIGNALS_PER_PAGE_MAX))
            .offset(offset)
        )
    )


def acknowledge(
    session: Session,
    principal: Principal,
    signal: LifeEvent | EmergencyRequest,
    *,
    now: dt.datetime,
) -> None:
    """The caseworker has seen it. Idempotent: the first acknowledgement stays."""
    ensure_can_act_for_participant(
        session, principal, signal.participant_id, parties=frozenset({Party.CASEWORKER})
    )
    if signal.acknowledged_at is None:
        signal.acknowledged_by = principal.user_id
        signal.acknowledged_at = now
        session.flush()


def get_life_event(session: Session, participant_id: int, event_id: int) -> LifeEvent:
    event = session.get(LifeEvent, event_id)
    if event is None or event.participant_id != participant_id:
        raise NotFound(f"life event {event_id} was not found")
    return event


def get_emergency(session: Session, participant_id: int, request_id: int) -> EmergencyRequest:
    request = session.get(EmergencyRequest, request_id)
    if request is None or request.participant_id != participant_id:
        raise NotFound(f"emergency request {request_id} was not found")
    return request
