"""Insight (issue 12): the participant's own notes of what they spent their living money on.

These are the participant's notes, not ledger entries: no money moves, and the
participant may change or remove them at any time. Only the participant sees them;
their caseworker only when the participant switches sharing on (default off).

- `insight_setting`: per participant the household type they compare with (the
  reference budgets) and whether they share their notes with their caseworker.
- `spending_category`: a category the participant made themselves.
- `spending_note`: one note: day, amount, a reference category code *or* one of
  their own categories, and an optional short text.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, BigIntId, UtcDateTime, utcnow

CATEGORY_NAME_LENGTH_MAX = 40
NOTE_TEXT_LENGTH_MAX = 200


class InsightSetting(Base):
    __tablename__ = "insight_setting"

    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), primary_key=True)
    household_type: Mapped[str | None] = mapped_column(String(20))
    share_with_caseworker: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class SpendingCategory(Base):
    __tablename__ = "spending_category"
    __table_args__ = (UniqueConstraint("participant_id", "name"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    name: Mapped[str] = mapped_column(String(CATEGORY_NAME_LENGTH_MAX))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class SpendingNote(Base):
    __tablename__ = "spending_note"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint("(category IS NULL) <> (own_category_id IS NULL)", name="one_category"),
        Index("ix_spending_note_participant_day", "participant_id", "spent_on"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"))
    spent_on: Mapped[dt.date] = mapped_column(Date)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    category: Mapped[str | None] = mapped_column(String(40))  # a reference category code
    own_category_id: Mapped[int | None] = mapped_column(
        ForeignKey("spending_category.id"), index=True
    )
    note: Mapped[str | None] = mapped_column(String(NOTE_TEXT_LENGTH_MAX))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
