"""legacy extra payouts: decided before the engine paid them, never paid by it

`extra_payout` proposals decided before one-off payouts existed were left unapplied on
purpose (maybe paid by hand). Without this, `apply_pending` would pay them in the first
daily cycle after the deploy. They are marked applied with 'legacy:not-paid-by-engine'
(backend.plans.legacy_payouts). Data only; downgrade leaves them marked (unmarking would
make the engine pay them).

Revision ID: 0017_legacy_extra_payouts
Revises: 0001
Create Date: 2026-11-28 23:30:00.000000
"""

import datetime as dt
from collections.abc import Sequence

from alembic import op

from backend.plans.legacy_payouts import mark_legacy_extra_payouts

revision: str = "0017_legacy_extra_payouts"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = ("0003_access", "0004_plans")  # proposal, plans


def upgrade() -> None:
    mark_legacy_extra_payouts(op.get_bind(), dt.datetime.now(dt.UTC))


def downgrade() -> None:
    pass  # see the docstring: never unmark
