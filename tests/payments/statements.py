"""A statement's closing balance in the bank import's `bank_statement` table: what
reconciliation compares the ledger with, without importing a whole statement file."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.models import BankStatementRecord, MunicipalBankAccount


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
