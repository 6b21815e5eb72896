"""A minimal caseworker page (/hulpverlener), until the caseworker dashboard exists.

What the participant app needs from the other side, and no more: emergency
requests on top (with "gezien"), proposals waiting for the caseworker (approve or
reject, through the participant's proposal routes), life events to acknowledge,
and writing a message to a participant. The full work-by-exception dashboard
(issue 8) replaces this page; it can reuse the routes and templates here.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request
from sqlalchemy import select
from starlette.responses import Response

from backend.access.dependencies import ID_MAX
from backend.access.policy import Party, Principal, caseload_participant_ids, require_role
from backend.access.roles import Role
from backend.api.deps import DbSession
from backend.codecision import service as proposals_service
from backend.codecision import signals
from backend.codecision.changes import parse_change
from backend.models import (
    Agreement,
    EmergencyRequest,
    LifeEvent,
    Participant,
    Proposal,
)
from backend.models.base import utcnow
from client_app.i18n import translate
from client_app.pages.participant import FLASHES
from client_app.services import messages as messages_service
from client_app.services.plan_text import change_text
from client_app.web.rendering import redirect, render, request_language
from client_app.web.routing import CsrfProtected, PageRoute, PageUser

router = APIRouter(prefix="/hulpverlener", route_class=PageRoute, include_in_schema=False)

MESSAGE_LENGTH_MAX = 2000
CASEWORKER_FLASHES = FLASHES | {"emergency_seen", "life_event_seen", "message_sent"}


def caseworker(user: PageUser) -> Principal:
    require_role(user, Role.CASEWORKER)
    return user


Caseworker = Annotated[Principal, Depends(caseworker)]


@router.get("")
def queue(request: Request, user: Caseworker, session: DbSession) -> Response:
    lang = request_language(request)
    ids = sorted(caseload_participant_ids(session, user.user_id))
    participants = (
        {
            participant.id: participant
            for participant in session.scalars(
                select(Participant)
                .where(Participant.id.in_(ids))
                .order_by(Participant.display_name)
            )
        }
        if ids
        else {}
    )
    emergencies = (
        list(
            session.scalars(
                select(EmergencyRequest)
                .where(
                    EmergencyRequest.participant_id.in_(ids),
                    EmergencyRequest.acknowledged_at.is_(None),
                )
                .order_by(EmergencyRequest.created_at.desc())
            )
        )
        if ids
        else []
    )
    life_events = (
        list(
            session.scalars(
                select(LifeEvent)
                .where(LifeEvent.participant_id.in_(ids), LifeEvent.acknowledged_at.is_(None))
                .order_by(LifeEvent.created_at.desc())
            )
        )
        if ids
        else []
    )
    waiting: list[dict[str, Any]] = []
    now = utcnow()
    for participant_id in ids:
        proposals_service.expire_due(session, now=now, participant_id=participant_id)
    open_proposals = (
        list(
            session.scalars(
                select(Proposal)
                .where(Proposal.participant_id.in_(ids), Proposal.status == "proposed")
                .order_by(Proposal.created_at)
            )
        )
        if ids
        else []
    )
    names: dict[int, str] = {}
    if ids:
        names = {
            int(row_id): str(description)
            for row_id, description in session.execute(
                select(Agreement.id, Agreement.description).where(Agreement.participant_id.in_(ids))
            )
        }
    for proposal in open_proposals:
        actions = proposals_service.available_actions(session, user, proposal)
        waiting.append(
            {
                "proposal": proposal,
                "participant": participants[proposal.participant_id],
                "text": change_text(parse_change(proposal.kind, proposal.payload), lang, names),
                "actions": actions,
            }
        )
    flash_key = request.query_params.get("gedaan")
    return render(
        request,
        "caseworker/queue.html",
        {
            "page_title": translate(lang, "caseworker.title"),
            "participants": list(participants.values()),
            "participant_names": {pid: p.display_name for pid, p in participants.items()},
            "emergencies": emergencies,
            "life_events": life_events,
            "waiting": waiting,
            "flash": translate(lang, f"flash.{flash_key}")
            if flash_key in CASEWORKER_FLASHES
            else None,
            "party_caseworker": Party.CASEWORKER,
        },
        principal=user,
    )


ItemId = Annotated[int, Path(ge=1, le=ID_MAX)]


@router.post(
    "/deelnemer/{participant_id}/noodmelding/{request_id}/gezien", dependencies=[CsrfProtected]
)
def emergency_seen(
    user: Caseworker, session: DbSession, participant_id: ItemId, request_id: ItemId
) -> Response:
    found = signals.get_emergency(session, participant_id, request_id)
    signals.acknowledge(session, user, found, now=utcnow())
    return redirect("/hulpverlener?gedaan=emergency_seen")


@router.post(
    "/deelnemer/{participant_id}/gebeurtenis/{event_id}/gezien", dependencies=[CsrfProtected]
)
def life_event_seen(
    user: Caseworker, session: DbSession, participant_id: ItemId, event_id: ItemId
) -> Response:
    found = signals.get_life_event(session, participant_id, event_id)
    signals.acknowledge(session, user, found, now=utcnow())
    return redirect("/hulpverlener?gedaan=life_event_seen")


@router.post("/deelnemer/{participant_id}/bericht", dependencies=[CsrfProtected])
def write(
    user: Caseworker,
    session: DbSession,
    participant_id: ItemId,
    text: Annotated[str, Form(max_length=MESSAGE_LENGTH_MAX)] = "",
) -> Response:
    from backend.access.policy import ensure_can_act_for_participant

    ensure_can_act_for_participant(
        session, user, participant_id, parties=frozenset({Party.CASEWORKER})
    )
    if text.strip():
        messages_service.write_message(
            session,
            participant_id=participant_id,
            author_user_id=user.user_id,
            author_name=user.display_name,
            text=text,
            now=utcnow(),
        )
    return redirect("/hulpverlener?gedaan=message_sent")
