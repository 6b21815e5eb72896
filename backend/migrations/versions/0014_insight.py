"""insight: the participant's own spending notes, own categories, household type and sharing

Notes, not ledger entries: ordinary rows the participant may change and remove.

Revision ID: 0014_insight
Revises: 0001
Create Date: 2026-11-28 22:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.models.base

revision: str = "0014_insight"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None  # only participant (0001)

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = backend.models.base.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "insight_setting",
        sa.Column("participant_id", _ID, nullable=False),
        sa.Column("household_type", sa.String(length=20), nullable=True),
        sa.Column("share_with_caseworker", sa.Boolean(), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_insight_setting_participant_id_participant"),
        ),
        sa.PrimaryKeyConstraint("participant_id", name=op.f("pk_insight_setting")),
    )
    op.create_table(
        "spending_category",
        sa.Column("id", _ID, nullable=False),
        sa.Column("participant_id", _ID, nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_spending_category_participant_id_participant"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spending_category")),
        sa.UniqueConstraint(
            "participant_id", "name", name=op.f("uq_spending_category_participant_id")
        ),
    )
    with op.batch_alter_table("spending_category", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_spending_category_participant_id"), ["participant_id"], unique=False
        )
    op.create_table(
        "spending_note",
        sa.Column("id", _ID, nullable=False),
        sa.Column("participant_id", _ID, nullable=False),
        sa.Column("spent_on", sa.Date(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=True),
        sa.Column("own_category_id", _ID, nullable=True),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.CheckConstraint("amount_cents > 0", name=op.f("ck_spending_note_amount_positive")),
        sa.CheckConstraint(
            "(category IS NULL) <> (own_category_id IS NULL)",
            name=op.f("ck_spending_note_one_category"),
        ),
        sa.ForeignKeyConstraint(
            ["own_category_id"],
            ["spending_category.id"],
            name=op.f("fk_spending_note_own_category_id_spending_category"),
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_spending_note_participant_id_participant"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spending_note")),
    )
    with op.batch_alter_table("spending_note", schema=None) as batch_op:
        batch_op.create_index(
            "ix_spending_note_participant_day", ["participant_id", "spent_on"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_spending_note_own_category_id"), ["own_category_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("spending_note", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_spending_note_own_category_id"))
        batch_op.drop_index("ix_spending_note_participant_day")
    op.drop_table("spending_note")
    with op.batch_alter_table("spending_category", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_spending_category_participant_id"))
    op.drop_table("spending_category")
    op.drop_table("insight_setting")
