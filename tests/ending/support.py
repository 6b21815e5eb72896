"""Helpers for the exit scenarios: people as principals, holdings, the payment round."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.access.policy import Principal
from backend.ending.settlement import holdings
from backend.ledger_store import account_balances
from backend.models import (
    JournalEntryRecord,
    MunicipalBankAccount,
    PaymentInstruction,
    UserAccount,
)
from backend.payments import (
    approve_batch,
    export_batch,
    prepare_batch,
    propose_batches,
    settle_by_end_to_end_id,
)
from ledger import AccountKind, holding_cents
from tests.payments.statements import record_statement


def principal(session: Session, username: str) -> Principal:
    account = session.scalar(select(UserAccount).where(UserAccount.username == username))
    assert account is not None
    return Principal.from_account(account)


def participant_holdings(session: Session, participant_id: int) -> dict[AccountKind, int]:
    return {kind: cents for kind, cents in holdings(session, participant_id).items() if cents}


def system_holding(session: Session, kind: AccountKind) -> int:
    return sum(
        holding_cents(ref, cents)
        for ref, cents in account_balances(session).items()
        if ref.kind is kind
    )


def counts(session: Session, participant_id: int) -> tuple[int, int]:
    """Journal entries touching anything, payment instructions of the participant."""
    entries = session.scalar(select(func.count(JournalEntryRecord.id))) or 0
    instructions = (
        session.scalar(
            select(func.count(PaymentInstruction.id)).where(
                PaymentInstruction.participant_id == participant_id
            )
        )
        or 0
    )
    return int(entries), int(instructions)


def pay_everything(session: Session, day: dt.date, statement_id: str) -> None:
    """Finance's round: propose, prepare (fenna), approve (frank), export, and the bank
    statement that debits every exported payment; then the statement's closing balance."""
    for batch in propose_batches(session, today=day):
        prepare_batch(session, batch.id, actor="fenna", today=day)
        approve_batch(session, batch.id, actor="frank")
        export_batch(session, batch.id, actor="fenna", today=day)
    session.flush()
    for number, instruction in enumerate(
        session.scalars(
            select(PaymentInstruction)
            .where(PaymentInstruction.status == "exported")
            .order_by(PaymentInstruction.id)
        ).all()
    ):
        settle_by_end_to_end_id(
            session,
            end_to_end_id=instruction.end_to_end_id,
            amount_cents=instruction.amount_cents,
            bank_iban=_municipal_iban(session),
            booking_date=day,
            bank_reference=f"{statement_id}-{number}",
        )
    bank = sum(
        cents for ref, cents in account_balances(session).items() if ref.kind is AccountKind.BANK
    )
    record_statement(
        session,
        iban=_municipal_iban(session),
        statement_id=statement_id,
        closing_cents=bank,
        closing_date=day,
    )
    session.flush()


def _municipal_iban(session: Session) -> str:
    iban = session.scalar(select(MunicipalBankAccount.iban).order_by(MunicipalBankAccount.id))
    assert iban is not None
    return iban
