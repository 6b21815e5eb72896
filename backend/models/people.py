"""Households and participants.

The BSN is never stored in plain text: `bsn_encrypted` holds AES-GCM ciphertext and
`bsn_index` a keyed HMAC for exact lookup (see privacy.fields).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, BigIntId, UtcDateTime, utcnow


class Household(Base):
    __tablename__ = "household"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # Who lives in it, as the caseworker noted at onboarding (0016_household): counts
    # only, no names; None when not known. The insight page's default household type.
    adults: Mapped[int | None] = mapped_column(SmallInteger)
    children: Mapped[int | None] = mapped_column(SmallInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class Participant(Base):
    __tablename__ = "participant"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    display_name: Mapped[str] = mapped_column(String(200))
    bsn_encrypted: Mapped[str] = mapped_column(String(200))
    bsn_index: Mapped[str] = mapped_column(String(64), unique=True)
    own_iban: Mapped[str | None] = mapped_column(String(34))
    status: Mapped[str] = mapped_column(String(20), default="active")
    started_on: Mapped[dt.date] = mapped_column(Date)
    ended_on: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
