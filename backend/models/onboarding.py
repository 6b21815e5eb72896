"""Onboarding (Aanmelden) tables (migration 0012_onboarding).

- `onboarding_draft`: a caseworker's unfinished onboarding wizard, one per
  caseworker. The whole draft (it holds a BSN) is AES-GCM encrypted with the field
  cipher; it is deleted in the transaction that submits it.
- `account_activation`: the one-time activation code of a new participant
  account. Only an argon2 hash of the code is stored; it expires, and after a few
  wrong tries it is spent.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, BigIntId, UtcDateTime, utcnow


class OnboardingDraft(Base):
    __tablename__ = "onboarding_draft"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    caseworker_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), unique=True)
    data_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class AccountActivation(Base):
    __tablename__ = "account_activation"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), unique=True)
    code_hash: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
