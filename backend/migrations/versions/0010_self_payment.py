"""self payment: confirmations of fixed costs the participant pays themselves

Zelfregie step 3. The `paid_by_participant` flag lives in the plan JSON and the
handover is an ordinary journal entry, so only the confirmations need a table.
Append-only: a confirmation is never changed or removed.

Revision ID: 0010_self_payment
Revises: 0001
Create Date: 2026-11-28 22:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.models.base
from backend.models import append_only

revision: str = "0010_self_payment"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
# self_payment_confirmation refers to user_account (0003_access).
depends_on: str | Sequence[str] | None = ("0003_access",)

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = backend.models.base.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "self_payment_confirmation",
        sa.Column("id", _ID, nullable=False),
        sa.Column("participant_id", _ID, nullable=False),
        sa.Column("agreement_id", sa.String(length=64), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("confirmed_by", _ID, nullable=False),
        sa.Column("confirmed_party", sa.String(length=20), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.CheckConstraint(
            "confirmed_party IN ('participant', 'caseworker')",
            name=op.f("ck_self_payment_confirmation_confirmed_party_known"),
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_self_payment_confirmation_participant_id_participant"),
        ),
        sa.ForeignKeyConstraint(
            ["confirmed_by"],
            ["user_account.id"],
            name=op.f("fk_self_payment_confirmation_confirmed_by_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_self_payment_confirmation")),
        sa.UniqueConstraint(
            "participant_id",
            "agreement_id",
            "due_date",
            name=op.f("uq_self_payment_confirmation_one_per_due_date"),
        ),
    )
    with op.batch_alter_table("self_payment_confirmation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_self_payment_confirmation_participant_id"),
            ["participant_id"],
            unique=False,
        )
    for statement in _guard(op.get_bind().dialect.name, create=True):
        op.execute(statement)


def _guard(dialect: str, *, create: bool) -> list[str]:
    return append_only.guard_statements(
        dialect,
        ("self_payment_confirmation",),
        create=create,
        function_name="self_payment_confirmation_append_only",
        message="self-payment confirmations are append-only",
    )


def downgrade() -> None:
    for statement in _guard(op.get_bind().dialect.name, create=False):
        op.execute(statement)
    with op.batch_alter_table("self_payment_confirmation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_self_payment_confirmation_participant_id"))
    op.drop_table("self_payment_confirmation")
