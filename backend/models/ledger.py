"""Ledger storage: accounts, journal entries, postings. Append-only.

Database triggers (see the first migration) refuse UPDATE and DELETE on
journal_entry and posting; corrections are reversing entries.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, BigIntId, UtcDateTime, utcnow


class LedgerAccount(Base):
    __tablename__ = "ledger_account"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    # AccountRef.label(): unique across kinds and owners, NULL-free on both databases.
    code: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participant.id"), index=True)
    bank_account_id: Mapped[int | None] = mapped_column(ForeignKey("municipal_bank_account.id"))


class JournalEntryRecord(Base):
    __tablename__ = "journal_entry"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    booking_date: Mapped[dt.date] = mapped_column(Date, index=True)
    reason_code: Mapped[str] = mapped_column(String(60))
    explanation: Mapped[str] = mapped_column(String(500))
    explanation_en: Mapped[str] = mapped_column(String(500), default="")
    reverses_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("journal_entry.id"), unique=True
    )
    entry_metadata: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class PostingRecord(Base):
    __tablename__ = "posting"
    __table_args__ = (
        # Covering index: balances (SUM by account) and a participant's movements
        # are answered from the index alone (see PERFORMANCE-NOTES.md).
        Index("ix_posting_account_entry_amount", "account_id", "journal_entry_id", "amount_cents"),
        Index("ix_posting_entry", "journal_entry_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    journal_entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entry.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_account.id"))
    amount_cents: Mapped[int] = mapped_column(BigInteger)


class AccountBalance(Base):
    """Sum and count of a participant account's postings, kept by the one write path
    (`backend.ledger_store.service`) in the transaction that inserts them, so the daily
    cycle reads a participant's balances without summing their whole history.

    Only participant accounts (ledger_account.participant_id set): system accounts
    (bank, payable, suspense) are touched by nearly every entry and would become hot
    rows that serialise concurrent writers. Postings are append-only, so a row only
    ever changes by adding new postings; `backend.payments.reconcile` checks it against
    the postings.

    An account's balance is the sum of its (at most two) rows, one per `writer`:
    1 for the transactions under the cycle lock on PostgreSQL (REPEATABLE READ; they
    say so with `balances.cycle_lock_writer`), 0 for all others (imports, staff,
    payments; every SQLite write). A REPEATABLE READ transaction may not update a row
    that another transaction changed after its snapshot (serialization failure): with
    its own row the cycle never meets an import's update, and the transactions under
    the cycle lock follow each other, each snapshot taken after the lock is granted."""

    __tablename__ = "ledger_account_balance"
    # SQLite: the primary key is the table (one B-tree to update per upsert, not two).
    __table_args__ = ({"sqlite_with_rowid": False},)

    account_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("ledger_account.id"), primary_key=True, autoincrement=False
    )
    writer: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    balance_cents: Mapped[int] = mapped_column(BigInteger)
    postings_count: Mapped[int] = mapped_column(BigInteger)
