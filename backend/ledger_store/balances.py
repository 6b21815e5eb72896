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
- Two rows per account at most, one per `writer` (see the model): transactions under
  the cycle lock (REPEATABLE READ on PostgreSQL, `cycle_lock_writer`) add to row 1,
  all others to row 0, so an import committing while a cycle chunk is written never
  makes the cycle's update a serialization failure. Readers add the rows up.
- Postings are append-only (guard triggers), so nothing else changes a balance;
  `balance_mismatches` (run by `backend.payments.reconcile`) compares every row with
  its postings.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any, cast

from sqlalchemy import Connection, Table, func, literal, select, text, union_all, update
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
# The row: 1 in a transaction that says it writes under the cycle lock (SET LOCAL of
# `WRITER_SETTING`, `cycle_lock_writer`), else 0; asked in the same statement.
WRITER_SETTING = "huishoudboekje.balance_writer"
_UPSERT_POSTGRESQL = (
    _INSERT + "SELECT account_id, "
    "coalesce(nullif(current_setting('huishoudboekje.balance_writer', true), ''), '0')"
    "::smallint, "  # WRITER_SETTING
    "balance_cents, postings_count "
    "FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[]) "
    "AS added (account_id, balance_cents, postings_count) ORDER BY account_id" + _ADD
)


def cycle_lock_writer(connection: Connection) -> None:
    """Say that this transaction writes under the cycle lock (PostgreSQL: its balance
    row is 1 until the transaction ends). The cycle calls it right after the lock."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL huishoudboekje.balance_writer = '1'")


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


def balance_mismatches(session: Session, *, limit: int) -> list[dict[str, Any]]:
    """Participant accounts whose `ledger_account_balance` row differs from the sum and
    count of their postings (a missing row counts as 0 / 0; a row for an account
    without postings is compared with 0 / 0 too). At most `limit`, by account id."""
    # One statement, so a posting committed meanwhile (PostgreSQL, READ COMMITTED) is
    # in both sides or in neither: no false difference.
    kept = select(
        AccountBalance.account_id.label("account_id"),
        AccountBalance.balance_cents.label("kept_cents"),
        AccountBalance.postings_count.label("kept_count"),
        literal(0).label("summed_cents"),
        literal(0).label("summed_count"),
        literal(1).label("has_row"),
    )
    summed_query = (
        select(
            PostingRecord.account_id.label("account_id"),
            literal(0).label("kept_cents"),
            literal(0).label("kept_count"),
            func.sum(PostingRecord.amount_cents).label("summed_cents"),
            func.count(literal(1)).label("summed_count"),
            literal(0).label("has_row"),
        )
        .join(LedgerAccount, LedgerAccount.id == PostingRecord.account_id)
        .where(LedgerAccount.participant_id.is_not(None))
        .group_by(PostingRecord.account_id)
    )
    both = union_all(kept, summed_query).subquery()
    rows = session.execute(
        select(
            both.c.account_id,
            func.sum(both.c.kept_cents),
            func.sum(both.c.kept_count),
            func.sum(both.c.summed_cents),
            func.sum(both.c.summed_count),
            func.max(both.c.has_row),
        )
        .group_by(both.c.account_id)
        .having(
            (func.sum(both.c.kept_cents) != func.sum(both.c.summed_cents))
            | (func.sum(both.c.kept_count) != func.sum(both.c.summed_count))
        )
        .order_by(both.c.account_id)
        .limit(limit)
    ).all()
    stored = {int(row[0]): (int(row[1]), int(row[2])) for row in rows if row[5]}
    found = {int(row[0]): (int(row[3]), int(row[4])) for row in rows}
    wrong = [int(row[0]) for row in rows]
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
        total, count = found.get(account_id, (0, 0))
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


def rebuild(session: Session) -> int:
    """Make every kept balance the sum and count of its postings again (after a
    difference `reconcile` reported, e.g. postings written by an old version while the
    table was being filled). Writers wait meanwhile (PostgreSQL: the posting table is
    locked against inserts until the caller commits). Returns how many accounts were
    wrong. The balances are a derived copy: the postings stay as they are."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE posting IN SHARE MODE"))
        session.execute(text("LOCK TABLE ledger_account_balance IN EXCLUSIVE MODE"))
    wrong = len(balance_mismatches(session, limit=2**31))
    session.execute(_BALANCE.delete())
    session.execute(
        text(
            "INSERT INTO ledger_account_balance (account_id, writer, balance_cents, "
            "postings_count) SELECT posting.account_id, 0, SUM(posting.amount_cents), "
            "COUNT(*) FROM posting JOIN ledger_account ON ledger_account.id = "
            "posting.account_id WHERE ledger_account.participant_id IS NOT NULL "
            "GROUP BY posting.account_id"
        )
    )
    return wrong
