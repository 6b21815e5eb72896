"""Counterparties: creditors we pay and payers we receive from, shared by participants."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, BigIntId, UtcDateTime, utcnow


class Counterparty(Base):
    __tablename__ = "counterparty"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    name: Mapped[str] = mapped_column(String(140))
    iban: Mapped[str] = mapped_column(String(34), unique=True)
    category: Mapped[str] = mapped_column(String(40), default="other")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
