"""Resolve ledger AccountRefs to database rows, creating accounts on first use."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.errors import InvalidInput
from backend.models import LedgerAccount, MunicipalBankAccount, Participant
from ledger import AccountKind, AccountRef


def account_from_row(
    code: str, kind: str, participant_id: int | None, iban: str | None
) -> AccountRef:
    return AccountRef(AccountKind(kind), participant_id=participant_id, bank_iban=iban)


def resolve_account_ids(session: Session, refs: Iterable[AccountRef]) -> dict[AccountRef, int]:
    """Ids of the given accounts; missing accounts are created if their owner exists."""
    wanted = {ref.label(): ref for ref in refs}
    found: dict[AccountRef, int] = {}
    codes = list(wanted)
    for start in range(0, len(codes), 500):
        chunk = codes[start : start + 500]
        for account_id, code in session.execute(
            select(LedgerAccount.id, LedgerAccount.code).where(LedgerAccount.code.in_(chunk))
        ):
            found[wanted[code]] = account_id
    missing = [ref for code, ref in wanted.items() if ref not in found]
    for ref in missing:
        found[ref] = _create_account(session, ref).id
    return found


def _create_account(session: Session, ref: AccountRef) -> LedgerAccount:
    bank_account_id = None
    if ref.participant_id is not None and session.get(Participant, ref.participant_id) is None:
        raise InvalidInput(
            f"account {ref.label()}: participant {ref.participant_id} does not exist"
        )
    if ref.bank_iban is not None:
        bank_account_id = session.scalar(
            select(MunicipalBankAccount.id).where(MunicipalBankAccount.iban == ref.bank_iban)
        )
        if bank_account_id is None:
            raise InvalidInput(
                f"account {ref.label()}: {ref.bank_iban} is not one of the municipality's accounts"
            )
    account = LedgerAccount(
        code=ref.label(),
        kind=str(ref.kind),
        participant_id=ref.participant_id,
        bank_account_id=bank_account_id,
    )
    # A savepoint, so a concurrent creator of the same account does not abort our transaction.
    with session.begin_nested():
        session.add(account)
    return account


def account_refs_by_id(session: Session, account_ids: Iterable[int]) -> dict[int, AccountRef]:
    ids = list(set(account_ids))
    refs: dict[int, AccountRef] = {}
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(
                LedgerAccount.id,
                LedgerAccount.code,
                LedgerAccount.kind,
                LedgerAccount.participant_id,
                MunicipalBankAccount.iban,
            )
            .outerjoin(
                MunicipalBankAccount, MunicipalBankAccount.id == LedgerAccount.bank_account_id
            )
            .where(LedgerAccount.id.in_(ids[start : start + 500]))
        )
        for account_id, code, kind, participant_id, iban in rows:
            refs[account_id] = account_from_row(code, kind, participant_id, iban)
    return refs
