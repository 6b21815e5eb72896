"""Plan versions and what is projected from them.

`plan_version` holds every version of every participant's plan as the rules
package's Plan JSON. A version is never changed (database triggers refuse UPDATE
and DELETE); a change is a new version from a date.

`income_expectation` is a projection maintained when a version is stored: one row
per income agreement per version, with the dates that version is in force, so the
bank import finds the expected incomes of a payer IBAN with one indexed query.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, BigIntId, UtcDateTime, utcnow


class PlanVersionRecord(Base):
    __tablename__ = "plan_version"
    __table_args__ = (
        UniqueConstraint("participant_id", "version", name="uq_plan_version_participant_version"),
        # The origin of a version (a proposal, onboarding) makes it at most once.
        UniqueConstraint("participant_id", "source", name="uq_plan_version_participant_source"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"))
    version: Mapped[int] = mapped_column(Integer)
    effective_from: Mapped[dt.date] = mapped_column(Date)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(100))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class IncomeExpectationRecord(Base):
    """One income agreement of one plan version, in force from `effective_from` until
    (not including) `effective_until`; NULL: until a later version says otherwise."""

    __tablename__ = "income_expectation"
    __table_args__ = (
        Index("ix_income_expectation_payer", "payer_iban", "effective_from"),
        UniqueConstraint(
            "participant_id",
            "plan_version",
            "agreement_id",
            name="uq_income_expectation_version_agreement",
        ),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"))
    plan_version: Mapped[int] = mapped_column(Integer)
    agreement_id: Mapped[str] = mapped_column(String(64))
    effective_from: Mapped[dt.date] = mapped_column(Date)
    effective_until: Mapped[dt.date | None] = mapped_column(Date)
    payer_iban: Mapped[str] = mapped_column(String(34))
    payer_name: Mapped[str] = mapped_column(String(70))
    search_terms: Mapped[list[str]] = mapped_column(JSON)
    expected_amount_cents: Mapped[int] = mapped_column(BigInteger)
    tolerance_cents: Mapped[int] = mapped_column(BigInteger)
    # The rules.IncomeAgreement as JSON (schedule and window), to compute expected dates.
    terms: Mapped[dict[str, Any]] = mapped_column(JSON)
