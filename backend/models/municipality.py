"""The municipality's own bank accounts (beheerrekeningen)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, BigIntId, UtcDateTime, utcnow


class MunicipalBankAccount(Base):
    __tablename__ = "municipal_bank_account"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    iban: Mapped[str] = mapped_column(String(34), unique=True)
    name: Mapped[str] = mapped_column(String(140))
    bic: Mapped[str | None] = mapped_column(String(11))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
