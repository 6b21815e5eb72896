"""zelfregie: savings goals (potjes), their movements, steps of autonomy

The `savings` ledger account kind needs no schema change: ledger_account.kind is
a string column and accounts are created on first use.

Revision ID: 0009_zelfregie
Revises: 0001
Create Date: 2026-11-28 21:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.models.base

revision: str = "0009_zelfregie"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
# savings_goal and autonomy_step refer to user_account and proposal (0003_access).
depends_on: str | Sequence[str] | None = ("0003_access",)

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = backend.models.base.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "savings_goal",
        sa.Column("id", _ID, nullable=False),
        sa.Column("participant_id", _ID, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("target_cents", sa.BigInteger(), nullable=False),
        sa.Column("target_date", sa.Date(), nullable=True),
        sa.Column("monthly_cents", sa.BigInteger(), nullable=False),
        sa.Column("created_by", _ID, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.CheckConstraint("monthly_cents >= 0", name=op.f("ck_savings_goal_monthly_not_negative")),
        sa.CheckConstraint("target_cents > 0", name=op.f("ck_savings_goal_target_positive")),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["user_account.id"],
            name=op.f("fk_savings_goal_created_by_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_savings_goal_participant_id_participant"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_savings_goal")),
    )
    with op.batch_alter_table("savings_goal", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_savings_goal_participant_id"), ["participant_id"], unique=False
        )

    op.create_table(
        "savings_movement",
        sa.Column("id", _ID, nullable=False),
        sa.Column("goal_id", _ID, nullable=False),
        sa.Column("participant_id", _ID, nullable=False),
        sa.Column("journal_entry_id", _ID, nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("created_by", _ID, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.CheckConstraint("amount_cents <> 0", name=op.f("ck_savings_movement_amount_not_zero")),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["user_account.id"],
            name=op.f("fk_savings_movement_created_by_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["goal_id"], ["savings_goal.id"], name=op.f("fk_savings_movement_goal_id_savings_goal")
        ),
        sa.ForeignKeyConstraint(
            ["journal_entry_id"],
            ["journal_entry.id"],
            name=op.f("fk_savings_movement_journal_entry_id_journal_entry"),
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_savings_movement_participant_id_participant"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_savings_movement")),
        sa.UniqueConstraint("journal_entry_id", name=op.f("uq_savings_movement_journal_entry_id")),
    )
    with op.batch_alter_table("savings_movement", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_savings_movement_goal_id"), ["goal_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_savings_movement_participant_id"), ["participant_id"], unique=False
        )

    op.create_table(
        "autonomy_step",
        sa.Column("id", _ID, nullable=False),
        sa.Column("participant_id", _ID, nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("proposal_id", _ID, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.CheckConstraint("step BETWEEN 1 AND 4", name=op.f("ck_autonomy_step_step_known")),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_autonomy_step_participant_id_participant"),
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"], ["proposal.id"], name=op.f("fk_autonomy_step_proposal_id_proposal")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_autonomy_step")),
        sa.UniqueConstraint("proposal_id", name=op.f("uq_autonomy_step_proposal_id")),
    )
    with op.batch_alter_table("autonomy_step", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_autonomy_step_participant_id"), ["participant_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("autonomy_step", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_autonomy_step_participant_id"))
    op.drop_table("autonomy_step")
    with op.batch_alter_table("savings_movement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_savings_movement_participant_id"))
        batch_op.drop_index(batch_op.f("ix_savings_movement_goal_id"))
    op.drop_table("savings_movement")
    with op.batch_alter_table("savings_goal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_savings_goal_participant_id"))
    op.drop_table("savings_goal")
