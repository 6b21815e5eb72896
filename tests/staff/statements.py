"""A small CAMT.053 statement of the demo municipality's account, for the staff tests."""

from __future__ import annotations

import datetime as dt

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
from backend.demo.seed import MUNICIPAL_IBAN

UNKNOWN_PAYER = PartySpec("Onbekende Gever", "NL91ABNA0417164300", None)


def statement_with_unknown_credit(
    *,
    day: dt.date,
    opening_cents: int,
    amount_cents: int = 5_000,
    statement_id: str = "STAFF-1",
    remittance: str = "Gift voor Anna de Vries",
    payer: PartySpec = UNKNOWN_PAYER,
) -> bytes:
    """One statement: an unknown credit of `amount_cents` (it lands in suspense)."""
    entry = EntrySpec(
        amount_cents=amount_cents,
        credit=True,
        booking_date=day,
        value_date=day,
        reference=f"{statement_id}-0001",
        domain_code=("PMNT", "RCDT", "ESCT"),
        transactions=(
            TransactionSpec(
                amount_cents=amount_cents,
                end_to_end_id="NOTPROVIDED",
                debtor=payer,
                unstructured=(remittance,),
            ),
        ),
    )
    statement = StatementSpec(
        statement_id=statement_id,
        account_iban=MUNICIPAL_IBAN,
        opening_cents=opening_cents,
        opening_date=day,
        closing_date=day,
        created_at=f"{day.isoformat()}T18:00:00",
        entries=(entry,),
    )
    document = DocumentSpec(
        message_id=f"MSG-{statement_id}",
        created_at=f"{day.isoformat()}T18:00:00",
        statements=(statement,),
    )
    return write_camt053(document, StatementFormat.CAMT053_001_02)


def ledger_bank_balance(session: Session) -> int:
    """What the ledger says the municipality's account holds (cents)."""
    from backend.payments.reconcile import reconcile

    report = reconcile(session)
    return sum(account.ledger_balance_cents for account in report.accounts)
