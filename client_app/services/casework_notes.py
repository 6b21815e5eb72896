"""What the participant sees of the caseworker's notes and kantelgesprekken.

A note is shown to the participant unless it is internal (AVG: a resident may see
what is written about them; an internal note carries the reason it is withheld).
The filter is here, in one place, and in the query itself: an internal note never
leaves the database for a participant page.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from client_app.staff_models import ParticipantNote, ReviewConversation

NOTES_SHOWN_MAX = 50
REVIEWS_SHOWN_MAX = 20


def notes_for_participant(session: Session, participant_id: int) -> list[ParticipantNote]:
    """The notes about the participant that are not internal, newest first."""
    return list(
        session.scalars(
            select(ParticipantNote)
            .where(
                ParticipantNote.participant_id == participant_id,
                ParticipantNote.internal.is_(False),
            )
            .order_by(ParticipantNote.created_at.desc(), ParticipantNote.id.desc())
            .limit(NOTES_SHOWN_MAX)
        )
    )


def reviews_for_participant(session: Session, participant_id: int) -> list[ReviewConversation]:
    """The kantelgesprekken (planned and held), the latest date first."""
    return list(
        session.scalars(
            select(ReviewConversation)
            .where(ReviewConversation.participant_id == participant_id)
            .order_by(ReviewConversation.planned_on.desc(), ReviewConversation.id.desc())
            .limit(REVIEWS_SHOWN_MAX)
        )
    )
