"""Per-account balances kept incrementally (`ledger_account_balance`).

The one write path (`service._insert_postings`) adds every new posting on a participant
account to its account's row, in the same transaction and right after the postings
insert, so a participant's balances are read without summing their whole history.

- Participant accounts only (ledger_account.participant_id set): system accounts
  (bank, payable, suspense) are touched by nearly every entry; one row each would
  serialise every concurrent writer on PostgreSQL.
- One upsert per account per call (INSERT ... ON CONFLICT DO UPDATE adding to the row),
  in account-id order: concurrent writers lock rows in the same order, so they wait for
  each other instead of deadlocking.
- Two rows per account at most, one per `writer` (see the model): READ COMMITTED
  transactions add to row 0, REPEATABLE READ ones (the daily cycle on PostgreSQL,
  under its lock) to row 1, so an import committing while a cycle chunk is written
  never makes the cycle's update a serialization failure. Readers add the rows up.
- Postings are append-only (guard triggers), so nothing else changes a balance;
  `mismatches` (run by `backend.payments.reconcile`) compares every row with its
  postings.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any, cast

from sqlalchemy import Connection, Table, func, literal, select, update
from sqlalchemy.orm import Session

from backend.models import AccountBalance, LedgerAccount, PostingRecord

_BALANCE = cast(Table, AccountBalance.__table__)
WRITER_READ_COMMITTED = 0
WRITER_REPEATABLE_READ = 1
_ADD = (
    " ON CONFLICT (account_id, writer) DO UPDATE SET "
    "balance_cents = ledger_account_balance.balance_cents + excluded.balance_cents, "
    "postings_count = ledger_account_balance.postings_count + excluded.postings_count"
)
_INSERT = "INSERT INTO ledger_account_balance (account_id, writer, balance_cents, postings_count) "
# SQLite: one executemany of a prepared statement, in account-id order. One writer at a
# time, whatever the isolation asked for: always row 0.
_UPSERT_SQLITE = _INSERT + "VALUES (?, 0, ?, ?)" + _ADD  # WRITER_READ_COMMITTED
# PostgreSQL: one statement for all rows (three array parameters), a quarter of the
# time of an executemany of 2,000 rows; ORDER BY keeps the rows locked in id order.
# The row follows the transaction's own isolation level, asked in the same statement.
_UPSERT_POSTGRESQL = (
    _INSERT + "SELECT account_id, CASE current_setting('transaction_isolation') "
    "WHEN 'read committed' THEN 0 ELSE 1 END, "  # WRITER_READ_COMMITTED, _REPEATABLE_READ
    "balance_cents, postings_count "
    "FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[]) "
    "AS added (account_id, balance_cents, postings_count) ORDER BY account_id" + _ADD
)


def add_postings(
    connection: Connection,
    postings: Iterable[tuple[int, int, int]],
    participant_accounts: Collection[int],
) -> None:
    """Add (journal_entry_id, account_id, amount_cents) postings to the balances of the
    accounts among them that are in `participant_accounts`."""
    totals: dict[int, int] = {}
    counts: dict[int, int] = {}
    for _, account_id, amount in postings:
        if account_id in participant_accounts:
            totals[account_id] = totals.get(account_id, 0) + amount
            counts[account_id] = counts.get(account_id, 0) + 1
    if not totals:
        return
    ids = sorted(totals)
    # Straight to the driver: three integers per row, in the daily cycle's hot write path.
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.exec_driver_sql(
            _UPSERT_POSTGRESQL,
            (ids, [totals[account_id] for account_id in ids], [counts[a] for a in ids]),
        )
        return
    rows = [(account_id, totals[account_id], counts[account_id]) for account_id in ids]
    if dialect == "sqlite":
        connection.exec_driver_sql(_UPSERT_SQLITE, rows)
        return
    for account_id, total, count in rows:  # other databases: no portable upsert
        changed = connection.execute(
            update(_BALANCE)
            .where(
                _BALANCE.c.account_id == account_id,
                _BALANCE.c.writer == WRITER_READ_COMMITTED,
            )
            .values(
                balance_cents=_BALANCE.c.balance_cents + total,
                postings_count=_BALANCE.c.postings_count + count,
            )
        ).rowcount
        if not changed:
            connection.execute(
                _BALANCE.insert().values(
                    account_id=account_id,
                    writer=WRITER_READ_COMMITTED,
                    balance_cents=total,
                    postings_count=count,
                )
            )


def kept_balances(session: Session) -> dict[int, tuple[int, int]]:
    """(balance, postings count) per account id, the writers' rows added up."""
    found: dict[int, tuple[int, int]] = {}
    for account_id, total, count in session.execute(
        select(
            AccountBalance.account_id, AccountBalance.balance_cents, AccountBalance.postings_count
        )
    ):
        before = found.get(account_id, (0, 0))
        found[account_id] = (before[0] + int(total), before[1] + int(count))
    return found


def balance_mismatches(session: Session, *, limit: int) -> list[dict[str, Any]]:
    """Participant accounts whose `ledger_account_balance` row differs from the sum and
    count of their postings (a missing row counts as 0 / 0; a row for an account
    without postings is compared with 0 / 0 too). At most `limit`, by account id."""
    stored = kept_balances(session)
    summed = {
        account_id: (int(total), int(count))
        for account_id, total, count in session.execute(
            select(
                PostingRecord.account_id,
                func.sum(PostingRecord.amount_cents),
                func.count(literal(1)),
            )
            .join(LedgerAccount, LedgerAccount.id == PostingRecord.account_id)
            .where(LedgerAccount.participant_id.is_not(None))
            .group_by(PostingRecord.account_id)
        )
    }
    wrong = sorted(
        account_id
        for account_id in set(stored) | set(summed)
        if stored.get(account_id, (0, 0)) != summed.get(account_id, (0, 0))
    )[:limit]
    if not wrong:
        return []
    codes: dict[int, str] = dict(
        session.execute(
            select(LedgerAccount.id, LedgerAccount.code).where(LedgerAccount.id.in_(wrong))
        ).all()
    )
    mismatches = []
    for account_id in wrong:
        stored_total, stored_count = stored.get(account_id, (0, 0))
        total, count = summed.get(account_id, (0, 0))
        mismatches.append(
            {
                "account": codes.get(account_id, str(account_id)),
                "account_id": account_id,
                "stored_balance_cents": stored_total,
                "postings_balance_cents": total,
                "stored_postings_count": stored_count,
                "postings_count": count,
                "row_missing": account_id not in stored,
            }
        )
    return mismatches
