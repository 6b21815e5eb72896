"""Zelfregie step 3: confirmations that a fixed cost the participant pays themselves
was paid.

`self_payment_confirmation`: one row per handed-over due date (the engine's
`fixed_cost.handover`), written when the participant marks it paid in the app or
the caseworker confirms it. The daily cycle gives them to the rules engine; a due
date without a row by its deadline raises `self_payment_missed`. Append-only: a
confirmation is history, never changed or removed.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, BigIntId, UtcDateTime, utcnow

CONFIRMING_PARTIES = ("participant", "caseworker")


class SelfPaymentConfirmation(Base):
    __tablename__ = "self_payment_confirmation"
    __table_args__ = (
        UniqueConstraint(
            "participant_id",
            "agreement_id",
            "due_date",
            name="uq_self_payment_confirmation_one_per_due_date",
        ),
        CheckConstraint(
            "confirmed_party IN ('participant', 'caseworker')", name="confirmed_party_known"
        ),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    agreement_id: Mapped[str] = mapped_column(String(64))  # the plan's agreement id
    due_date: Mapped[dt.date] = mapped_column(Date)
    confirmed_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    confirmed_party: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
