"""Privacy API: the inzage (AVG art. 15) as JSON and PDF, and the access log for the
privacy officer.

The inzage commits its transaction (with the access-log record of this very
request) before the document leaves the server: if the record cannot be stored,
nothing is sent.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from backend.access.dependencies import (
    ID_MAX,
    AppSettings,
    CurrentUser,
    ParticipantId,
    require_permissions,
)
from backend.access.policy import Principal, ensure_can_see_inzage, record_participant_access
from backend.access.roles import Permission, Role
from backend.api.deps import DbSession
from backend.api.problem_docs import problem_responses
from backend.config import Settings
from backend.models.base import utcnow
from backend.privacy_store.access_log import entries_about
from backend.privacy_store.inzage import build_inzage, inzage_filename
from backend.privacy_store.inzage_pdf import render_inzage_pdf
from privacy.activities import PRIVACY_SUPERVISION, activity_name

router = APIRouter(tags=["privacy"])

INZAGE = problem_responses(401, 403, 404)


def _document(
    session: Session, settings: Settings, user: Principal, participant_id: int
) -> tuple[dict[str, Any], dt.datetime]:
    participant = ensure_can_see_inzage(session, user, participant_id)
    for_self = Role.PARTICIPANT in user.roles and user.participant_id == participant.id
    now = utcnow()
    document = build_inzage(
        session, settings.field_cipher(), participant, for_self=for_self, now=now
    )
    session.commit()  # the access record is stored before anything is sent
    return document, now


_NO_STORE = {"Cache-Control": "no-store"}


@router.get(
    "/api/participants/{participant_id}/inzage",
    summary="Inzage (AVG art. 15): everything held about this participant, and who looked",
    responses=INZAGE,
    response_model=dict[str, Any],
)
def inzage(
    participant_id: ParticipantId, user: CurrentUser, session: DbSession, settings: AppSettings
) -> JSONResponse:
    document, now = _document(session, settings, user, participant_id)
    return JSONResponse(
        document,
        headers={
            **_NO_STORE,
            "Content-Disposition": (
                f'inline; filename="{inzage_filename(participant_id, now, "json")}"'
            ),
        },
    )


@router.get(
    "/api/participants/{participant_id}/inzage.pdf",
    summary="Inzage (AVG art. 15) as a readable PDF",
    response_class=Response,
    responses={**INZAGE, 200: {"content": {"application/pdf": {}}}},
)
def inzage_pdf(
    participant_id: ParticipantId, user: CurrentUser, session: DbSession, settings: AppSettings
) -> Response:
    document, now = _document(session, settings, user, participant_id)
    return Response(
        content=render_inzage_pdf(document),
        media_type="application/pdf",
        headers={
            **_NO_STORE,
            "Content-Disposition": (
                f'attachment; filename="{inzage_filename(participant_id, now, "pdf")}"'
            ),
        },
    )


class AccessLogEntryOut(BaseModel):
    sequence: int
    occurred_at: dt.datetime
    actor_user_id: int | None
    actor_role: str
    participant_id: int
    resource: str
    operation: str
    processing_activity: str
    processing_activity_name: str
    trace_id: str
    record_hash: str = Field(description="this record's link in the hash chain")


PrivacyOfficer = Annotated[Principal, Depends(require_permissions(Permission.ACCESS_LOG))]


@router.get(
    "/api/privacy/access-log",
    response_model=list[AccessLogEntryOut],
    summary="Privacy officer: the access log, newest first (who read whose data, and why)",
    responses=problem_responses(401, 403),
)
def access_log(
    user: PrivacyOfficer,
    session: DbSession,
    participant_id: Annotated[int | None, Query(ge=1, le=ID_MAX)] = None,
    before_sequence: Annotated[int | None, Query(ge=1, le=ID_MAX)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AccessLogEntryOut]:
    records = entries_about(session, participant_id, before_sequence=before_sequence, limit=limit)
    for about in sorted({record.participant_id for record in records}):
        record_participant_access(session, user, about, activity=PRIVACY_SUPERVISION)
    return [
        AccessLogEntryOut(
            sequence=record.sequence,
            occurred_at=record.occurred_at,
            actor_user_id=record.actor_user_id,
            actor_role=record.actor_role,
            participant_id=record.participant_id,
            resource=record.resource,
            operation=record.operation,
            processing_activity=record.processing_activity,
            processing_activity_name=activity_name(record.processing_activity),
            trace_id=record.trace_id,
            record_hash=record.record_hash,
        )
        for record in records
    ]
