"""staff pages: list filters and page size remembered per staff user

Revision ID: 0013_staff_filters
Revises: 0001
Create Date: 2026-11-28 22:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.models.base

revision: str = "0013_staff_filters"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = "0003_access"

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = backend.models.base.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "staff_list_filter",
        sa.Column("id", _ID, nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("list_name", sa.String(length=40), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_staff_list_filter_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_list_filter")),
        sa.UniqueConstraint("user_id", "list_name", name="uq_staff_list_filter_user_list"),
    )


def downgrade() -> None:
    op.drop_table("staff_list_filter")
