"""Agreements (afspraken): one expected income stream or one fixed cost of a participant.

The rules engine reads the schedule, tolerance and policy details from `terms`
(a JSON document validated by the rules package); the columns here are the
ones queries need (matching on payer IBAN, listing per participant).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, BigIntId, UtcDateTime, utcnow


class Agreement(Base):
    __tablename__ = "agreement"

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
