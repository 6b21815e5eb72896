"""Imported bank statements, their entries, and suspense assignments.

- `bank_statement`: one row per imported statement (a file can hold several). Its
  identity is (account, statement id, closing balance, closing date): the same
  statement imported again is a duplicate, a unique constraint makes that hold under
  concurrency. Reconciliation reads the closing balances (backend.payments.reconcile).
- `bank_entry`: one row per booked bank entry, keyed by `dedup_key` (unique): an entry
  is stored, and booked, exactly once however often and in whichever statements it
  appears. `status` says how the import handled it; `journal_entry_key` names the
  ledger entry that booked it.
- `suspense_assignment`: finance's decision for an entry that went to suspense — who,
  why, when, and the ledger entry `suspense → available` it made. One per entry.

Query patterns and the indexes that serve them:
- dedup on import: `dedup_key IN (...)` per chunk → the unique index on dedup_key;
- the previous statement of an account / reconciliation's last closing:
  `account_iban = ? ORDER BY closing_balance_date DESC, id DESC` →
  ix_bank_statement_account_closing;
- the suspense queue: `status = 'suspense' ORDER BY booking_date, id` →
  ix_bank_entry_status_booking;
- a statement's entries in file order → ix_bank_entry_statement_sequence;
- listing entries of an account over a period → ix_bank_entry_account_booking.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, BigIntId, UtcDateTime, utcnow

STATEMENT_FORMATS = ("camt.053.001.02", "camt.053.001.08", "mt940")
ENTRY_STATUSES = (
    "matched_income",  # a credit matched to exactly one income agreement: bank → available
    "settled",  # a debit that settled our payment(s): in_transit → bank
    "returned",  # a credit returning our payment: bank → the participant's account
    "suspense",  # waiting in the finance queue: bank ↔ suspense
    "assigned",  # was in suspense, finance assigned it: suspense → available
    "ignored",  # booked by the bank with amount zero: nothing to book
)
DEDUP_KEY_LENGTH_MAX = 400


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class BankStatementRecord(Base):
    __tablename__ = "bank_statement"
    __table_args__ = (
        UniqueConstraint(
            "account_iban",
            "statement_id",
            "closing_balance_date",
            "closing_balance_cents",
            name="uq_bank_statement_identity",
        ),
        Index("ix_bank_statement_account_closing", "account_iban", "closing_balance_date", "id"),
        CheckConstraint(_in("format", STATEMENT_FORMATS), name="format_known"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    bank_account_id: Mapped[int] = mapped_column(ForeignKey("municipal_bank_account.id"))
    account_iban: Mapped[str] = mapped_column(String(34))
    statement_id: Mapped[str] = mapped_column(String(70))
    message_id: Mapped[str | None] = mapped_column(String(70))
    sequence_number: Mapped[str | None] = mapped_column(String(35))
    format: Mapped[str] = mapped_column(String(20))
    opening_balance_cents: Mapped[int] = mapped_column(BigInteger)
    opening_balance_date: Mapped[dt.date] = mapped_column(Date)
    closing_balance_cents: Mapped[int] = mapped_column(BigInteger)
    closing_balance_date: Mapped[dt.date] = mapped_column(Date)
    created_by_bank_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    previous_statement_id: Mapped[int | None] = mapped_column(ForeignKey("bank_statement.id"))
    # Opening balance minus the previous statement's closing balance; NULL when there is
    # no previous statement. Not zero: a statement is missing (or the bank corrected one).
    gap_cents: Mapped[int | None] = mapped_column(BigInteger)
    source_filename: Mapped[str] = mapped_column(String(255))
    file_sha256: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    imported_by: Mapped[str] = mapped_column(String(100))
    booked_entries: Mapped[int] = mapped_column(Integer, default=0)
    new_entries: Mapped[int] = mapped_column(Integer, default=0)
    duplicate_entries: Mapped[int] = mapped_column(Integer, default=0)
    skipped_pending_entries: Mapped[int] = mapped_column(Integer, default=0)
    matched_entries: Mapped[int] = mapped_column(Integer, default=0)
    settled_entries: Mapped[int] = mapped_column(Integer, default=0)
    returned_entries: Mapped[int] = mapped_column(Integer, default=0)
    suspense_entries: Mapped[int] = mapped_column(Integer, default=0)
    ignored_entries: Mapped[int] = mapped_column(Integer, default=0)
    # Key of the entry that booked the first statement's opening balance to suspense.
    opening_entry_key: Mapped[str | None] = mapped_column(String(200))


class BankEntryRecord(Base):
    __tablename__ = "bank_entry"
    __table_args__ = (
        UniqueConstraint("dedup_key", name="uq_bank_entry_dedup_key"),
        Index("ix_bank_entry_status_booking", "status", "booking_date", "id"),
        Index("ix_bank_entry_statement_sequence", "statement_id", "sequence"),
        Index("ix_bank_entry_account_booking", "account_iban", "booking_date"),
        CheckConstraint(_in("status", ENTRY_STATUSES), name="status_known"),
        CheckConstraint("credit_debit IN ('CRDT', 'DBIT')", name="direction_known"),
        CheckConstraint("amount_cents >= 0", name="amount_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("bank_statement.id"))
    sequence: Mapped[int] = mapped_column(Integer)
    """Position in the statement (1-based, booked entries only)."""
    account_iban: Mapped[str] = mapped_column(String(34))
    dedup_key: Mapped[str] = mapped_column(String(DEDUP_KEY_LENGTH_MAX))
    fingerprint: Mapped[str] = mapped_column(String(64))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    credit_debit: Mapped[str] = mapped_column(String(4))
    booking_date: Mapped[dt.date] = mapped_column(Date)
    value_date: Mapped[dt.date | None] = mapped_column(Date)
    bank_reference: Mapped[str | None] = mapped_column(String(140))
    counterparty_name: Mapped[str | None] = mapped_column(String(140))
    counterparty_iban: Mapped[str | None] = mapped_column(String(34))
    counterparty_account: Mapped[str | None] = mapped_column(String(70))
    counterparty_bic: Mapped[str | None] = mapped_column(String(11))
    remittance_unstructured: Mapped[str | None] = mapped_column(Text)
    creditor_reference: Mapped[str | None] = mapped_column(String(140))
    end_to_end_id: Mapped[str | None] = mapped_column(String(140))
    batch_payment_information_id: Mapped[str | None] = mapped_column(String(140))
    batch_transaction_count: Mapped[int | None] = mapped_column(Integer)
    # Per-transaction details of a batch booking (None for a single payment).
    transactions: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON(none_as_null=True))
    reversal: Mapped[bool] = mapped_column(Boolean, default=False)
    return_reason_code: Mapped[str | None] = mapped_column(String(35))
    bank_transaction_code: Mapped[str | None] = mapped_column(String(70))
    additional_info: Mapped[str | None] = mapped_column(Text)
    source_line: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    # Why the entry is where it is ("no agreement matches", "2 agreements match", ...).
    status_reason: Mapped[str | None] = mapped_column(String(300))
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participant.id"))
    agreement_id: Mapped[str | None] = mapped_column(String(64))
    journal_entry_key: Mapped[str | None] = mapped_column(String(200))
    payment_instruction_count: Mapped[int] = mapped_column(Integer, default=0)
    imported_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class SuspenseAssignmentRecord(Base):
    __tablename__ = "suspense_assignment"
    __table_args__ = (UniqueConstraint("bank_entry_id", name="uq_suspense_assignment_entry"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    bank_entry_id: Mapped[int] = mapped_column(ForeignKey("bank_entry.id"))
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    agreement_id: Mapped[str | None] = mapped_column(String(64))
    expected_date: Mapped[dt.date | None] = mapped_column(Date)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    assigned_by: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(String(500))
    assigned_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    journal_entry_key: Mapped[str] = mapped_column(String(200))
