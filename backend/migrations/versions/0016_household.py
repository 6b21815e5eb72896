"""household: the household composition noted at onboarding (adults, children)

Two nullable counts on `household`; existing households stay unknown (NULL).

Revision ID: 0016_household
Revises: 0001
Create Date: 2026-11-28 23:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_household"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None  # only household (0001)


def upgrade() -> None:
    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.add_column(sa.Column("adults", sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column("children", sa.SmallInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.drop_column("children")
        batch_op.drop_column("adults")
