"""Ending participation: the agreed end and its final settlement.

One row per participant whose participation ends (co-decision kind
`end_participation`). `status` moves forward only: `agreed` (decided, waiting for
its end date) → `settled` (the closing entries and payouts are booked; the
participant is read-only). `handover` is the snapshot the handover letter and the
final statement are made from, taken when the settlement was booked, so the letter
reads the same later, also after a plan or a creditor changes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, BigIntId, UtcDateTime, utcnow

END_STATUSES = ("agreed", "settled")


class ParticipationEnd(Base):
    __tablename__ = "participation_end"
    __table_args__ = (
        CheckConstraint("status IN ('agreed', 'settled')", name="status_known"),
        CheckConstraint("remaining_debt_cents >= 0", name="debt_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), unique=True)
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("proposal.id"), unique=True)
    end_date: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(20), default="agreed")
    settled_on: Mapped[dt.date | None] = mapped_column(Date)
    remaining_debt_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    handover: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    settled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
