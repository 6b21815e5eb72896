"""The daily cycle's own bookkeeping: one row per run, and per participant the state
the engine's open items were folded up to.

`cycle_state` is a cache of `rules.OpenItems`, never the source of truth: it
records up to which journal entry (and how many of the participant's postings) it
has folded, so the next day only folds what is new. When the ledger shows postings
the cache does not account for, the cycle rebuilds it from the journal entries.
The cycle also locks this table (PostgreSQL) so two cycles never work at once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, BigIntId, UtcDateTime, utcnow

CYCLE_RUN_STATUSES = ("running", "ok", "partial", "failed")


class CycleRun(Base):
    __tablename__ = "cycle_run"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    run_date: Mapped[dt.date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    participants_evaluated: Mapped[int] = mapped_column(Integer, default=0)
    journal_entries_created: Mapped[int] = mapped_column(Integer, default=0)
    payment_instructions_created: Mapped[int] = mapped_column(Integer, default=0)
    alerts_raised: Mapped[int] = mapped_column(Integer, default=0)
    failed_count: Mapped[int] = mapped_column(Integer, default=0)
    # [{"participant_id": 7, "error": "..."}], at most CYCLE_FAILURES_STORED_MAX.
    failures: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    timings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class CycleState(Base):
    __tablename__ = "cycle_state"

    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), primary_key=True)
    # The cycle day the open items were trimmed for; a run for an earlier day rebuilds.
    as_of: Mapped[dt.date] = mapped_column(Date)
    through_entry_id: Mapped[int] = mapped_column(BigInteger)
    # How many postings on the participant's accounts have journal_entry_id <= through.
    postings_folded: Mapped[int] = mapped_column(BigInteger)
    open_items: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
