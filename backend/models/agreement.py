"""Agreements (afspraken): one expected income stream or one fixed cost of a participant.

Since plan versions exist (backend.plans), this table is a projection of the
latest stored plan version, maintained by `backend.plans.store_plan_version`:
one row per agreement of the plan (`plan_agreement_id` is the rules agreement id,
stable across versions), so other domains can refer to an agreement by a stable
integer id (co-decision proposals do). `terms` holds the rules agreement as JSON.
An agreement a later version drops gets an `end_date`. The rules engine never
reads this table; it reads `plan_version`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, BigIntId, UtcDateTime, utcnow


class Agreement(Base):
    __tablename__ = "agreement"
    __table_args__ = (
        Index(
            "ix_agreement_participant_plan_agreement",
            "participant_id",
            "plan_agreement_id",
            unique=True,
        ),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    counterparty_id: Mapped[int] = mapped_column(ForeignKey("counterparty.id"), index=True)
    direction: Mapped[str] = mapped_column(String(10))  # "income" or "fixed_cost"
    description: Mapped[str] = mapped_column(String(200))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    terms: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    # The rules.Plan agreement id; NULL only for rows from before plan versions existed.
    plan_agreement_id: Mapped[str | None] = mapped_column(String(64))
