"""exit: ending participation (participation_end)

The `advance_claim` ledger account kind needs no schema change: ledger_account.kind
is a string column and accounts are created on first use.

Revision ID: 0011_exit
Revises: 0001
Create Date: 2026-11-28 22:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.models.base

revision: str = "0011_exit"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
# participation_end refers to proposal (0003_access).
depends_on: str | Sequence[str] | None = ("0003_access",)

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = backend.models.base.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "participation_end",
        sa.Column("id", _ID, nullable=False),
        sa.Column("participant_id", _ID, nullable=False),
        sa.Column("proposal_id", _ID, nullable=True),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("settled_on", sa.Date(), nullable=True),
        sa.Column("remaining_debt_cents", sa.BigInteger(), nullable=False),
        sa.Column("handover", sa.JSON(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("settled_at", _TS, nullable=True),
        sa.CheckConstraint(
            "status IN ('agreed', 'settled')", name=op.f("ck_participation_end_status_known")
        ),
        sa.CheckConstraint(
            "remaining_debt_cents >= 0", name=op.f("ck_participation_end_debt_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_participation_end_participant_id_participant"),
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["proposal.id"],
            name=op.f("fk_participation_end_proposal_id_proposal"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participation_end")),
        sa.UniqueConstraint("participant_id", name=op.f("uq_participation_end_participant_id")),
        sa.UniqueConstraint("proposal_id", name=op.f("uq_participation_end_proposal_id")),
    )


def downgrade() -> None:
    op.drop_table("participation_end")
