"""Zelfregie: savings goals (potjes) and the participant's step of autonomy.

- `savings_goal`: what the participant saves for (a fridge, school costs in
  August), with a target amount, an optional target date and the amount they plan
  to set aside each month.
- `savings_movement`: one set-aside (+) or withdrawal (−) for a goal, pointing at
  the journal entry that moved the money between `available` and `savings`. The sum
  over all of a participant's goals equals their `savings` account.
- `autonomy_step`: the step (1..4) a participant is at from a date on; a new row
  per agreed change (co-decision, kind `autonomy_step`), so the history stays.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, BigIntId, UtcDateTime, utcnow

GOAL_NAME_LENGTH_MAX = 100


class SavingsGoal(Base):
    __tablename__ = "savings_goal"
    __table_args__ = (
        CheckConstraint("target_cents > 0", name="target_positive"),
        CheckConstraint("monthly_cents >= 0", name="monthly_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    name: Mapped[str] = mapped_column(String(GOAL_NAME_LENGTH_MAX))
    target_cents: Mapped[int] = mapped_column(BigInteger)
    target_date: Mapped[dt.date | None] = mapped_column(Date)
    monthly_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    created_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class SavingsMovement(Base):
    __tablename__ = "savings_movement"
    __table_args__ = (CheckConstraint("amount_cents <> 0", name="amount_not_zero"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    goal_id: Mapped[int] = mapped_column(ForeignKey("savings_goal.id"), index=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    journal_entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entry.id"), unique=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)  # + set aside, − withdrawn
    created_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class AutonomyStepRecord(Base):
    __tablename__ = "autonomy_step"
    __table_args__ = (CheckConstraint("step BETWEEN 1 AND 4", name="step_known"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    step: Mapped[int] = mapped_column(Integer)
    effective_from: Mapped[dt.date] = mapped_column(Date)
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("proposal.id"), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
