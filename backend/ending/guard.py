"""After the end: read-only. Everything stays visible and downloadable, nothing changes."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.errors import Conflict
from backend.models import Participant, ParticipationEnd

ENDED = "ended"


def ended_on(session: Session, participant_id: int) -> ParticipationEnd | None:
    """The settled end of this participant's participation, or None while it runs."""
    return session.scalar(
        select(ParticipationEnd).where(
            ParticipationEnd.participant_id == participant_id,
            ParticipationEnd.status == "settled",
        )
    )


def ensure_participation_open(session: Session, participant_id: int) -> None:
    """409 with a clear message when the participation has ended (read-only)."""
    participant = session.get(Participant, participant_id)
    end = ended_on(session, participant_id)
    if end is None and (participant is None or participant.status != ENDED):
        return
    day = end.end_date if end is not None else participant.ended_on if participant else None
    raise Conflict(
        f"participation of participant {participant_id} ended"
        + (f" on {day.isoformat()}" if day else "")
        + "; nothing can be changed any more. Everything stays visible and can be downloaded.",
        code="participation_ended",
    )
