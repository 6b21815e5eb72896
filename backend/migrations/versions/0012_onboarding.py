"""onboarding: wizard drafts and one-time account activation codes

Revision ID: 0012_onboarding
Revises: 0001
Create Date: 2026-11-28 22:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.models.base

revision: str = "0012_onboarding"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
# user_account comes from 0003_access.
depends_on: str | Sequence[str] | None = "0003_access"

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = backend.models.base.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "onboarding_draft",
        sa.Column("id", _ID, nullable=False),
        sa.Column("caseworker_id", _ID, nullable=False),
        sa.Column("data_encrypted", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["caseworker_id"],
            ["user_account.id"],
            name=op.f("fk_onboarding_draft_caseworker_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_onboarding_draft")),
        sa.UniqueConstraint("caseworker_id", name=op.f("uq_onboarding_draft_caseworker_id")),
    )
    op.create_table(
        "account_activation",
        sa.Column("id", _ID, nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("code_hash", sa.String(length=200), nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("used_at", _TS, nullable=True),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("created_by", _ID, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_account_activation_user_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["user_account.id"],
            name=op.f("fk_account_activation_created_by_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_activation")),
        sa.UniqueConstraint("user_id", name=op.f("uq_account_activation_user_id")),
    )


def downgrade() -> None:
    op.drop_table("account_activation")
    op.drop_table("onboarding_draft")
