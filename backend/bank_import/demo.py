"""Demo history through real bank statements.

The demo seed does not post income entries itself: for each day it writes the
municipality's CAMT.053.001.02 statement with that day's credits (with
`backend.bank.generate.write_camt053`) and imports it, so the incomes are matched to
the plans exactly as in production and every statement reconciles.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.bank import StatementFormat
from backend.bank.generate import (
    DocumentSpec,
    EntrySpec,
    PartySpec,
    StatementSpec,
    TransactionSpec,
    write_camt053,
)
from backend.bank_import.service import ImportReport, import_statement_file
from backend.models import BankStatementRecord
from rules.texts import MONTHS_NL

DEMO_BIC = "BNGHNL2G"


@dataclass(frozen=True, slots=True)
class DemoCredit:
    """Money a payer sends to the municipality's account on one day."""

    payer_name: str
    payer_iban: str
    amount_cents: int
    remittance: str


def demo_remittance(search_terms: Sequence[str], expected: dt.date, fallback: str) -> str:
    """What a payer writes with a payment: the agreement's search terms and the month
    ('Participatiewet november 2026')."""
    words = " ".join(search_terms) or fallback
    return f"{words} {MONTHS_NL[expected.month - 1]} {expected.year}"[:140]


def demo_statement_id(day: dt.date) -> str:
    return f"DEMO-{day:%Y%m%d}"


def import_demo_statement(
    session: Session,
    *,
    account_iban: str,
    day: dt.date,
    credits: Sequence[DemoCredit],
    imported_by: str,
) -> ImportReport | None:
    """Write and import the statement of `day` (once; None when it was imported before).

    Its opening balance is the closing balance of the account's last statement, so the
    statements chain without gaps."""
    statement_id = demo_statement_id(day)
    done = session.scalar(
        select(BankStatementRecord.id).where(
            BankStatementRecord.account_iban == account_iban,
            BankStatementRecord.statement_id == statement_id,
        )
    )
    if done is not None or not credits:
        return None
    opening = session.scalar(
        select(BankStatementRecord.closing_balance_cents)
        .where(BankStatementRecord.account_iban == account_iban)
        .order_by(BankStatementRecord.closing_balance_date.desc(), BankStatementRecord.id.desc())
        .limit(1)
    )
    created_at = f"{day.isoformat()}T18:00:00+01:00"
    entries = tuple(
        EntrySpec(
            amount_cents=credit.amount_cents,
            credit=True,
            booking_date=day,
            value_date=day,
            reference=f"{day:%Y%m%d}{index:05d}",
            transactions=(
                TransactionSpec(
                    amount_cents=credit.amount_cents,
                    debtor=PartySpec(credit.payer_name, credit.payer_iban),
                    unstructured=(credit.remittance,),
                ),
            ),
        )
        for index, credit in enumerate(credits, 1)
    )
    data = write_camt053(
        DocumentSpec(
            message_id=statement_id,
            created_at=created_at,
            statements=(
                StatementSpec(
                    statement_id=statement_id,
                    account_iban=account_iban,
                    opening_cents=int(opening or 0),
                    opening_date=day,
                    closing_date=day,
                    created_at=created_at,
                    entries=entries,
                    account_bic=DEMO_BIC,
                ),
            ),
        ),
        StatementFormat.CAMT053_001_02,
    )
    report = import_statement_file(
        session, data, filename=f"{statement_id}.xml", imported_by=imported_by
    )
    return report
