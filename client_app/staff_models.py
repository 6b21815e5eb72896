"""Tables of the staff pages (migration 0008_staff).

- `participant_note`: a caseworker's note about a participant. The participant
  sees it in the app unless it is internal, and an internal note must say why
  (AVG: a resident may see what is written about them; withholding needs a reason).
- `review_conversation` (kantelgesprek): a planned talk to re-think the plan
  together: date, topics, and afterwards the outcome. The participant sees it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, BigIntId, UtcDateTime, utcnow

NOTE_LENGTH_MAX = 4000
REASON_LENGTH_MAX = 500
TOPICS_LENGTH_MAX = 2000
OUTCOME_LENGTH_MAX = 4000


class ParticipantNote(Base):
    __tablename__ = "participant_note"
    __table_args__ = (
        Index("ix_participant_note_participant_created", "participant_id", "created_at"),
        CheckConstraint(
            "internal = false OR internal_reason IS NOT NULL", name="internal_has_reason"
        ),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"))
    author_user_id: Mapped[int] = mapped_column(Integer)
    author_name: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    internal_reason: Mapped[str | None] = mapped_column(String(REASON_LENGTH_MAX))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class ReviewConversation(Base):
    __tablename__ = "review_conversation"
    __table_args__ = (
        Index("ix_review_conversation_participant_planned", "participant_id", "planned_on"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"))
    planned_on: Mapped[dt.date] = mapped_column(Date)
    topics: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(Text)
    created_by_user_id: Mapped[int] = mapped_column(Integer)
    created_by_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    held_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
