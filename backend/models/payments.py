"""Payments out: payment instructions, batches (four eyes) and the batch event log.

A payment instruction is born when the daily cycle moves money from a participant's
reserved/available/buffer account to payable; its idempotency key is the key of
that journal entry. Instructions are grouped into a batch per execution date and
debtor account; a batch is prepared by one finance user, approved by another and
exported once as a SEPA pain.001 file, which is stored and never regenerated.

Status columns are changed only by conditional UPDATEs in backend.payments
(`... WHERE status = :expected`), so two concurrent actions have exactly one effect.
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
    LargeBinary,
    String,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, BigIntId, UtcDateTime, utcnow

INSTRUCTION_KINDS = ("fixed_cost", "living_money", "refund")
SOURCE_KINDS = ("reserved", "available", "buffer")
INSTRUCTION_STATUSES = (
    "payable",  # money is in payable, not yet in a batch
    "batched",  # in a batch that is not exported yet
    "exported",  # in a pain.001 file; money in in_transit
    "settled",  # seen on a statement; money left the bank
    "returned",  # the bank sent it back after settlement (AC04, MD07, ...)
    "rejected",  # rejected by the bank (pain.002 RJCT) before settlement
    "cancelled",  # cancelled before export; the payable entry was reversed
)
BATCH_STATUSES = (
    "proposed",
    "prepared",
    "approved",
    "exported",
    "settled",
    "partly_returned",
    "rejected",
    "cancelled",
)
BATCH_FORMATS = ("pain.001.001.09", "pain.001.001.03")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class PaymentBatch(Base):
    __tablename__ = "payment_batch"
    __table_args__ = (
        CheckConstraint(_in("status", BATCH_STATUSES), name="status_known"),
        CheckConstraint(f"format IS NULL OR {_in('format', BATCH_FORMATS)}", name="format_known"),
        # Four eyes, also in the database: the approver is never the preparer.
        CheckConstraint(
            "approved_by IS NULL OR prepared_by IS NULL OR approved_by <> prepared_by",
            name="four_eyes",
        ),
        CheckConstraint(
            "status NOT IN ('approved', 'exported', 'settled', 'partly_returned', 'rejected') "
            "OR approved_by IS NOT NULL",
            name="approved_before_export",
        ),
        CheckConstraint(
            "status NOT IN ('exported', 'settled', 'partly_returned', 'rejected') "
            "OR file_sha256 IS NOT NULL",
            name="exported_has_file",
        ),
        # At most one open proposal per execution date and debtor account.
        Index(
            "ix_payment_batch_one_proposal",
            "execution_date",
            "debtor_account_id",
            unique=True,
            sqlite_where=text("status = 'proposed'"),
            postgresql_where=text("status = 'proposed'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    execution_date: Mapped[dt.date] = mapped_column(Date)
    debtor_account_id: Mapped[int] = mapped_column(ForeignKey("municipal_bank_account.id"))
    status: Mapped[str] = mapped_column(String(20), index=True)
    # Incremented by every transition; conditional updates compare it.
    version: Mapped[int] = mapped_column(Integer, default=1)
    message_id: Mapped[str] = mapped_column(String(35), unique=True)
    pmt_inf_id: Mapped[str] = mapped_column(String(35), unique=True)
    format: Mapped[str | None] = mapped_column(String(20))
    # The file as first exported; re-exporting returns exactly these bytes.
    file_bytes: Mapped[bytes | None] = mapped_column(LargeBinary)
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    file_sha1: Mapped[str | None] = mapped_column(String(40))
    control_sum_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    instruction_count: Mapped[int] = mapped_column(Integer, default=0)
    prepared_by: Mapped[str | None] = mapped_column(String(100))
    prepared_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    approved_by: Mapped[str | None] = mapped_column(String(100))
    approved_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    exported_by: Mapped[str | None] = mapped_column(String(100))
    exported_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    cancelled_by: Mapped[str | None] = mapped_column(String(100))
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class PaymentInstruction(Base):
    __tablename__ = "payment_instruction"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint(_in("kind", INSTRUCTION_KINDS), name="kind_known"),
        CheckConstraint(_in("source_kind", SOURCE_KINDS), name="source_kind_known"),
        CheckConstraint(_in("status", INSTRUCTION_STATUSES), name="status_known"),
        CheckConstraint("end_to_end_id <> 'NOTPROVIDED'", name="end_to_end_id_provided"),
        Index("ix_payment_instruction_status_batch", "status", "batch_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    # The key of the journal entry that moved the money to payable.
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    payable_entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entry.id"))
    end_to_end_id: Mapped[str] = mapped_column(String(35), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    creditor_name: Mapped[str] = mapped_column(String(140))
    creditor_iban: Mapped[str] = mapped_column(String(34))
    creditor_bic: Mapped[str | None] = mapped_column(String(11))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    remittance_unstructured: Mapped[str | None] = mapped_column(String(140))
    # Dutch betalingskenmerk (digits) or ISO 11649 RF reference.
    creditor_reference: Mapped[str | None] = mapped_column(String(35))
    due_date: Mapped[dt.date] = mapped_column(Date)
    requested_execution_date: Mapped[dt.date] = mapped_column(Date)
    debtor_account_id: Mapped[int] = mapped_column(ForeignKey("municipal_bank_account.id"))
    source_kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("payment_batch.id"), index=True)
    # Set for regulatory return reasons (RR01-RR04): never retried automatically.
    retry_blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    status_reason_code: Mapped[str | None] = mapped_column(String(35))
    settled_on: Mapped[dt.date | None] = mapped_column(Date)
    settlement_reference: Mapped[str | None] = mapped_column(String(100))
    returned_on: Mapped[dt.date | None] = mapped_column(Date)
    return_reference: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class PaymentBatchEvent(Base):
    """Who did what to a batch, and when. Append-only by convention."""

    __tablename__ = "payment_batch_event"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("payment_batch.id"), index=True)
    action: Mapped[str] = mapped_column(String(30))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
