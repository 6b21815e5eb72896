"""staff pages: participant notes and review conversations (kantelgesprek)

Revision ID: 0008_staff
Revises: 0001
Create Date: 2026-11-29 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.models.base

revision: str = "0008_staff"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = backend.models.base.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "participant_note",
        sa.Column("id", _ID, nullable=False),
        sa.Column("participant_id", _ID, nullable=False),
        sa.Column("author_user_id", sa.Integer(), nullable=False),
        sa.Column("author_name", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("internal", sa.Boolean(), nullable=False),
        sa.Column("internal_reason", sa.String(length=500), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.CheckConstraint(
            "internal = false OR internal_reason IS NOT NULL",
            name=op.f("ck_participant_note_internal_has_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_participant_note_participant_id_participant"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participant_note")),
    )
    with op.batch_alter_table("participant_note", schema=None) as batch_op:
        batch_op.create_index(
            "ix_participant_note_participant_created",
            ["participant_id", "created_at"],
            unique=False,
        )
    op.create_table(
        "review_conversation",
        sa.Column("id", _ID, nullable=False),
        sa.Column("participant_id", _ID, nullable=False),
        sa.Column("planned_on", sa.Date(), nullable=False),
        sa.Column("topics", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("created_by_user_id", sa.Integer(), nullable=False),
        sa.Column("created_by_name", sa.String(length=200), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("held_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_review_conversation_participant_id_participant"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_conversation")),
    )
    with op.batch_alter_table("review_conversation", schema=None) as batch_op:
        batch_op.create_index(
            "ix_review_conversation_participant_planned",
            ["participant_id", "planned_on"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("review_conversation", schema=None) as batch_op:
        batch_op.drop_index("ix_review_conversation_participant_planned")
    op.drop_table("review_conversation")
    with op.batch_alter_table("participant_note", schema=None) as batch_op:
        batch_op.drop_index("ix_participant_note_participant_created")
    op.drop_table("participant_note")
