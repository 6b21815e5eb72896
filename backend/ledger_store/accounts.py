"""Resolve ledger AccountRefs to database rows, creating accounts on first use."""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from backend.errors import InvalidInput
from backend.ledger_store.driver import select_in
from backend.models import LedgerAccount, MunicipalBankAccount
from ledger import AccountKind, AccountRef


def account_from_row(
    code: str, kind: str, participant_id: int | None, iban: str | None
) -> AccountRef:
    return AccountRef(AccountKind(kind), participant_id=participant_id, bank_iban=iban)


_IDS_BY_CODE = "SELECT id, code FROM ledger_account WHERE code {in}"
_PARTICIPANTS = "SELECT id FROM participant WHERE id {in}"
_INSERT_ACCOUNT = {
    "postgresql": "INSERT INTO ledger_account (code, kind, participant_id, bank_account_id) "
    "VALUES (%s, %s, %s, %s) ON CONFLICT (code) DO NOTHING",
    "sqlite": "INSERT INTO ledger_account (code, kind, participant_id, bank_account_id) "
    "VALUES (?, ?, ?, ?) ON CONFLICT (code) DO NOTHING",
}


def resolve_account_ids(session: Session, refs: Iterable[AccountRef]) -> dict[AccountRef, int]:
    """Ids of the given accounts; missing accounts are created if their owner exists."""
    wanted = {ref.label(): ref for ref in refs}
    found: dict[AccountRef, int] = {}
    if session.autoflush:  # the lookup goes to the driver, past the ORM's autoflush
        session.flush()
    for account_id, code in select_in(session.connection(), _IDS_BY_CODE, list(wanted)):
        found[wanted[code]] = account_id
    missing = [ref for code, ref in wanted.items() if ref not in found]
    if missing:
        found.update(_create_accounts(session, missing))
    return found


def _create_accounts(session: Session, refs: list[AccountRef]) -> dict[AccountRef, int]:
    """Create missing accounts in bulk: one query per owner kind to check the owners
    exist, one INSERT .. ON CONFLICT DO NOTHING (a concurrent creator of the same account
    does not abort our transaction), one SELECT of the ids. Was one savepoint, flush and
    lookup per account: a third of the daily cycle's time on the day accounts appear."""
    participant_ids = {ref.participant_id for ref in refs if ref.participant_id is not None}
    ibans = {ref.bank_iban for ref in refs if ref.bank_iban is not None}
    connection = session.connection()
    existing_participants = {
        participant_id
        for (participant_id,) in select_in(connection, _PARTICIPANTS, sorted(participant_ids))
    }
    bank_ids: dict[str, int] = {}
    if ibans:
        bank_ids = {
            iban: bank_id
            for bank_id, iban in session.execute(
                select(MunicipalBankAccount.id, MunicipalBankAccount.iban).where(
                    MunicipalBankAccount.iban.in_(ibans)
                )
            )
        }
    rows = []
    for ref in refs:
        if ref.participant_id is not None and ref.participant_id not in existing_participants:
            raise InvalidInput(
                f"account {ref.label()}: participant {ref.participant_id} does not exist"
            )
        if ref.bank_iban is not None and ref.bank_iban not in bank_ids:
            raise InvalidInput(
                f"account {ref.label()}: {ref.bank_iban} is not one of the municipality's accounts"
            )
        rows.append(
            {
                "code": ref.label(),
                "kind": str(ref.kind),
                "participant_id": ref.participant_id,
                "bank_account_id": bank_ids.get(ref.bank_iban) if ref.bank_iban else None,
            }
        )
    table = cast(Table, LedgerAccount.__table__)
    dialect = connection.dialect.name
    if dialect in ("postgresql", "sqlite"):
        # Straight to the driver: four plain values per row.
        connection.exec_driver_sql(
            _INSERT_ACCOUNT[dialect],
            [
                (row["code"], row["kind"], row["participant_id"], row["bank_account_id"])
                for row in rows
            ],
        )
    else:
        insert_of = postgresql_insert if dialect == "postgresql" else sqlite_insert
        for start in range(0, len(rows), 500):
            session.execute(
                insert_of(table).on_conflict_do_nothing(index_elements=["code"]),
                rows[start : start + 500],
            )
    by_code = {ref.label(): ref for ref in refs}
    return {
        by_code[code]: account_id
        for account_id, code in select_in(connection, _IDS_BY_CODE, list(by_code))
    }


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
