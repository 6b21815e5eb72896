"""Plain dictionaries of statements, entries and suspense items, for the API and the CLI."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.bank_import.suspense import SuggestionView, SuspenseItem
from backend.errors import InvalidInput, NotFound
from backend.models import BankEntryRecord, BankStatementRecord

PAGE_SIZE_MAX = 200
# Bounds on paging and ids from a query string: beyond them the database would overflow
# (SQLite and PostgreSQL integers are 64-bit) and answer with a server error.
OFFSET_MAX = 10_000_000
ID_MAX = 2**63 - 1
ENTRY_STATUSES = ("matched_income", "settled", "returned", "suspense", "assigned", "ignored")


def statement_view(record: BankStatementRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "account_iban": record.account_iban,
        "statement_id": record.statement_id,
        "message_id": record.message_id,
        "sequence_number": record.sequence_number,
        "format": record.format,
        "opening_balance_cents": record.opening_balance_cents,
        "opening_balance_date": record.opening_balance_date,
        "closing_balance_cents": record.closing_balance_cents,
        "closing_balance_date": record.closing_balance_date,
        "gap_cents": record.gap_cents,
        "previous_statement_id": record.previous_statement_id,
        "source_filename": record.source_filename,
        "file_sha256": record.file_sha256,
        "imported_at": record.imported_at,
        "imported_by": record.imported_by,
        "booked_entries": record.booked_entries,
        "new_entries": record.new_entries,
        "duplicate_entries": record.duplicate_entries,
        "skipped_pending_entries": record.skipped_pending_entries,
        "matched_entries": record.matched_entries,
        "settled_entries": record.settled_entries,
        "returned_entries": record.returned_entries,
        "suspense_entries": record.suspense_entries,
        "ignored_entries": record.ignored_entries,
    }


def entry_view(record: BankEntryRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "statement_row_id": record.statement_id,
        "sequence": record.sequence,
        "account_iban": record.account_iban,
        "dedup_key": record.dedup_key,
        "amount_cents": record.amount_cents,
        "credit_debit": record.credit_debit,
        "booking_date": record.booking_date,
        "value_date": record.value_date,
        "bank_reference": record.bank_reference,
        "counterparty_name": record.counterparty_name,
        "counterparty_iban": record.counterparty_iban,
        "counterparty_account": record.counterparty_account,
        "remittance": record.remittance_unstructured,
        "creditor_reference": record.creditor_reference,
        "end_to_end_id": record.end_to_end_id,
        "batch_payment_information_id": record.batch_payment_information_id,
        "transactions": record.transactions,
        "reversal": record.reversal,
        "return_reason_code": record.return_reason_code,
        "bank_transaction_code": record.bank_transaction_code,
        "status": record.status,
        "status_reason": record.status_reason,
        "participant_id": record.participant_id,
        "agreement_id": record.agreement_id,
        "journal_entry_key": record.journal_entry_key,
    }


def suggestion_view(view: SuggestionView) -> dict[str, Any]:
    item = view.suggestion
    return {
        "participant_id": item.participant_id,
        "participant_name": view.participant_name,
        "agreement_id": item.agreement_id,
        "description": item.description,
        "payer_name": item.payer_name,
        "expected_amount_cents": item.expected_amount_cents,
        "tolerance_cents": item.tolerance_cents,
        "expected_date": item.expected_date,
        "score": item.score,
        "payer_iban_matches": item.payer_iban_matches,
        "search_terms_found": item.search_terms_found,
        "search_terms_total": item.search_terms_total,
        "amount_within_tolerance": item.amount_within_tolerance,
        "amount_difference_cents": item.amount_difference_cents,
        "in_window": item.in_window,
        "reasons": list(item.reasons),
    }


def suspense_item_view(item: SuspenseItem) -> dict[str, Any]:
    return {
        **entry_view(item.entry),
        "suggestions": [suggestion_view(view) for view in item.suggestions],
    }


@dataclass(frozen=True, slots=True)
class Page:
    items: list[dict[str, Any]]
    total: int


def _check_page(limit: int, offset: int) -> None:
    if not 1 <= limit <= PAGE_SIZE_MAX:
        raise InvalidInput(f"limit must be between 1 and {PAGE_SIZE_MAX}")
    if offset < 0:
        raise InvalidInput("offset must not be negative")


def list_statements(
    session: Session,
    *,
    account_iban: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page:
    """Imported statements, newest first."""
    _check_page(limit, offset)
    condition = []
    if account_iban:
        condition.append(BankStatementRecord.account_iban == account_iban)
    total = session.scalar(select(func.count(BankStatementRecord.id)).where(*condition)) or 0
    records = session.scalars(
        select(BankStatementRecord)
        .where(*condition)
        .order_by(BankStatementRecord.closing_balance_date.desc(), BankStatementRecord.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return Page([statement_view(record) for record in records], int(total))


def get_statement(session: Session, statement_row_id: int) -> dict[str, Any]:
    record = session.get(BankStatementRecord, statement_row_id)
    if record is None:
        raise NotFound(f"bank statement {statement_row_id} does not exist")
    return statement_view(record)


def list_entries(
    session: Session,
    *,
    statement_row_id: int | None = None,
    account_iban: str | None = None,
    statuses: Sequence[str] | None = None,
    credit_debit: str | None = None,
    booked_from: dt.date | None = None,
    booked_until: dt.date | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page:
    """Bank entries, filtered; a statement's in file order, otherwise by booking date."""
    _check_page(limit, offset)
    unknown = sorted(set(statuses or ()) - set(ENTRY_STATUSES))
    if unknown:
        raise InvalidInput(
            f"unknown status {', '.join(unknown)}; one of {', '.join(ENTRY_STATUSES)}"
        )
    if credit_debit is not None and credit_debit not in ("CRDT", "DBIT"):
        raise InvalidInput("credit_debit must be CRDT or DBIT")
    condition = []
    if statement_row_id is not None:
        condition.append(BankEntryRecord.statement_id == statement_row_id)
    if account_iban:
        condition.append(BankEntryRecord.account_iban == account_iban)
    if statuses:
        condition.append(BankEntryRecord.status.in_(list(statuses)))
    if credit_debit:
        condition.append(BankEntryRecord.credit_debit == credit_debit)
    if booked_from:
        condition.append(BankEntryRecord.booking_date >= booked_from)
    if booked_until:
        condition.append(BankEntryRecord.booking_date <= booked_until)
    order = (
        (BankEntryRecord.sequence,)
        if statement_row_id is not None
        else (BankEntryRecord.booking_date.desc(), BankEntryRecord.id.desc())
    )
    total = session.scalar(select(func.count(BankEntryRecord.id)).where(*condition)) or 0
    records = session.scalars(
        select(BankEntryRecord).where(*condition).order_by(*order).limit(limit).offset(offset)
    )
    return Page([entry_view(record) for record in records], int(total))
