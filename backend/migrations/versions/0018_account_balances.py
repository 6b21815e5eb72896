"""account balances: sum and count of each participant account's postings

`ledger_account_balance` is kept by the one write path (backend.ledger_store.service)
in the transaction that inserts the postings, so the daily cycle no longer sums a
participant's whole history every day. Only participant accounts: system accounts
would be hot rows. Backfilled here from the postings (append-only, so the table only
ever changes by the write path's upserts afterwards). `writer`: one row for READ
COMMITTED writers, one for the cycle's REPEATABLE READ transactions (see the model,
backend.models.ledger.AccountBalance); the backfill is one row per account, writer 0.

Revision ID: 0018_account_balances
Revises: 0001
Create Date: 2026-11-29 03:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_account_balances"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None  # only ledger_account and posting (0001)

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# One grouped pass over the covering posting index.
BACKFILL = (
    "INSERT INTO ledger_account_balance (account_id, writer, balance_cents, postings_count) "
    "SELECT posting.account_id, 0, SUM(posting.amount_cents), COUNT(*) "
    "FROM posting JOIN ledger_account ON ledger_account.id = posting.account_id "
    "WHERE ledger_account.participant_id IS NOT NULL "
    "GROUP BY posting.account_id"
)


def upgrade() -> None:
    op.create_table(
        "ledger_account_balance",
        sa.Column("account_id", _ID, autoincrement=False, nullable=False),
        sa.Column("writer", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("balance_cents", sa.BigInteger(), nullable=False),
        sa.Column("postings_count", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["ledger_account.id"],
            name=op.f("fk_ledger_account_balance_account_id_ledger_account"),
        ),
        sa.PrimaryKeyConstraint("account_id", "writer", name=op.f("pk_ledger_account_balance")),
        sqlite_with_rowid=False,  # the primary key is the table: one B-tree per upsert
    )
    if op.get_bind().dialect.name == "postgresql":
        # Every cycle updates most rows: room on the page for the new row version makes
        # it a HOT update (no index entry to add), a third less time per upsert.
        op.execute("ALTER TABLE ledger_account_balance SET (fillfactor = 50)")
    if op.get_bind().dialect.name == "postgresql":
        # Postings an older version still writes during the upgrade would be missed by
        # the backfill for good: they wait until this migration commits. (Stop writers
        # before upgrading anyway; `huishoudboekje ledger rebuild-balances` repairs.)
        op.execute("LOCK TABLE posting IN SHARE MODE")
    op.execute(BACKFILL)


def downgrade() -> None:
    op.drop_table("ledger_account_balance")
