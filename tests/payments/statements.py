"""A statement's closing balance in the bank import's `bank_statement` table (what
reconciliation compares the ledger with), and a credit waiting in suspense, without
importing a whole statement file."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.ledger_store import post_entry
from backend.models import BankEntryRecord, BankStatementRecord, MunicipalBankAccount
from ledger import AccountRef, JournalEntry, Posting


def record_statement(
    session: Session, *, iban: str, statement_id: str, closing_cents: int, closing_date: dt.date
) -> None:
    """Insert a statement with this closing balance (opening = closing, no entries)."""
    account_id = session.scalar(
        select(MunicipalBankAccount.id).where(MunicipalBankAccount.iban == iban)
    )
    assert account_id is not None, f"{iban} is not registered"
    session.add(
        BankStatementRecord(
            bank_account_id=account_id,
            account_iban=iban,
            statement_id=statement_id,
            format="camt.053.001.02",
            opening_balance_cents=closing_cents,
            opening_balance_date=closing_date,
            closing_balance_cents=closing_cents,
            closing_balance_date=closing_date,
            source_filename=f"{statement_id}.xml",
            file_sha256="0" * 64,
            imported_by="test",
            booked_entries=0,
            new_entries=0,
            duplicate_entries=0,
            skipped_pending_entries=0,
            matched_entries=0,
            settled_entries=0,
            returned_entries=0,
            suspense_entries=0,
            ignored_entries=0,
        )
    )
    session.flush()


def credit_in_suspense(
    session: Session,
    *,
    statement_id: str,
    sequence: int,
    day: dt.date,
    cents: int,
    key: str,
    remittance: str,
) -> int:
    """A credit the import could not match, booked as the import books it (bank →
    suspense) on that statement's account; the bank entry's id."""
    statement = session.scalar(
        select(BankStatementRecord).where(BankStatementRecord.statement_id == statement_id)
    )
    assert statement is not None, f"statement {statement_id} is not recorded"
    iban = statement.account_iban
    post_entry(
        session,
        JournalEntry(
            idempotency_key=key,
            booking_date=day,
            reason_code="bank.suspense",
            explanation="Onbekende bijschrijving",
            postings=(
                Posting(AccountRef.bank(iban), cents),
                Posting(AccountRef.suspense(), -cents),
            ),
        ),
        created_by="test",
    )
    entry = BankEntryRecord(
        statement_id=statement.id,
        sequence=sequence,
        account_iban=iban,
        dedup_key=key,
        fingerprint="0" * 64,
        amount_cents=cents,
        credit_debit="CRDT",
        booking_date=day,
        counterparty_name="Zorgverzekeraar",
        remittance_unstructured=remittance,
        status="suspense",
        journal_entry_key=key,
    )
    session.add(entry)
    session.flush()
    return entry.id
