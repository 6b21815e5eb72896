"""Mijn gegevens → download: everything the service holds about the resident.

It is the privacy package's inzage (AVG art. 15, backend.privacy_store.inzage), the
same document as `GET /api/participants/{id}/inzage`, so the download is recorded in
the access log as an inzage request. Amounts are cents, dates ISO 8601.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from backend.access.policy import Principal, ensure_can_see_inzage
from backend.errors import NotFound
from backend.models import Participant
from backend.models.base import utcnow
from backend.privacy_store.inzage import build_inzage
from backend.privacy_store.inzage_pdf import render_inzage_pdf
from privacy import FieldCipher


def personal_data_export(
    session: Session, principal: Principal, participant: Participant, *, cipher: FieldCipher
) -> dict[str, Any]:
    """Everything held about the participant, for the participant themself (a household
    member or their caseworker gets 404 here; the FG uses the API)."""
    if principal.participant_id != participant.id:
        raise NotFound(f"participant {participant.id} was not found")
    ensure_can_see_inzage(session, principal, participant.id)  # logged as an inzage
    return build_inzage(session, cipher, participant, for_self=True, now=utcnow())


def personal_data_pdf(document: dict[str, Any]) -> bytes:
    """The inzage as a readable PDF."""
    return render_inzage_pdf(document)
