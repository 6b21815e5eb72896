"""The municipality's own bank accounts."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.errors import Conflict
from backend.iban import validate_iban
from backend.ledger_store.accounts import resolve_account_ids
from backend.models import MunicipalBankAccount
from ledger import AccountRef


def add_bank_account(
    session: Session, *, iban: str, name: str, bic: str | None = None
) -> tuple[MunicipalBankAccount, bool]:
    """Register an account; returns (account, created). Registering twice is a no-op."""
    compact = validate_iban(iban)
    existing = session.scalar(
        select(MunicipalBankAccount).where(MunicipalBankAccount.iban == compact)
    )
    if existing is not None:
        if existing.name != name and name:
            raise Conflict(f"account {compact} is already registered as {existing.name!r}")
        return existing, False
    account = MunicipalBankAccount(iban=compact, name=name, bic=bic)
    session.add(account)
    session.flush()
    resolve_account_ids(session, [AccountRef.bank(compact)])
    return account, True


def list_bank_accounts(session: Session) -> list[MunicipalBankAccount]:
    return list(session.scalars(select(MunicipalBankAccount).order_by(MunicipalBankAccount.id)))


def ensure_system_accounts(session: Session) -> None:
    resolve_account_ids(session, [AccountRef.suspense(), AccountRef.in_transit()])
