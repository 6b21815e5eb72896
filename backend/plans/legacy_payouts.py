"""Extra payouts decided before the engine paid them (migration 0017_legacy_extra_payouts).

Before one-off payouts existed, a decided `extra_payout` proposal had no applier: it was
left decided but unapplied on purpose, and the money was (maybe) paid by hand. Now that
`apply_pending` applies every decided proposal with `applied_at` NULL, those old decisions
would be paid by the first daily cycle after the deploy: a second payment. The migration
marks them applied with LEGACY_REFERENCE (and an `applied` event saying why), so only
decisions made after the deploy are paid by the engine.

Core statements on lightweight tables (no ORM models): a migration must keep working when
the models change later.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.engine import Connection

LEGACY_REFERENCE = "legacy:not-paid-by-engine"
LEGACY_REASON = (
    "decided before extra payouts were paid by the daily cycle; not paid by the engine "
    "(check by hand whether it was paid)"
)
_DECIDED = ("approved", "emergency_applied")

_proposal = sa.table(
    "proposal",
    sa.column("id", sa.BigInteger),
    sa.column("kind", sa.String),
    sa.column("status", sa.String),
    sa.column("applied_at", sa.DateTime(timezone=True)),
    sa.column("applied_reference", sa.String),
)
_proposal_event = sa.table(
    "proposal_event",
    sa.column("proposal_id", sa.BigInteger),
    sa.column("action", sa.String),
    sa.column("actor_id", sa.BigInteger),
    sa.column("actor_party", sa.String),
    sa.column("reason", sa.String),
    sa.column("created_at", sa.DateTime(timezone=True)),
)


def mark_legacy_extra_payouts(connection: Connection, now: dt.datetime) -> list[int]:
    """Mark every decided but unapplied `extra_payout` proposal applied (LEGACY_REFERENCE);
    the ids marked. Idempotent: a second run finds nothing."""
    ids = list(
        connection.scalars(
            sa.select(_proposal.c.id)
            .where(
                _proposal.c.kind == "extra_payout",
                _proposal.c.status.in_(_DECIDED),
                _proposal.c.applied_at.is_(None),
            )
            .order_by(_proposal.c.id)
        )
    )
    if not ids:
        return []
    at = now.astimezone(dt.UTC)
    connection.execute(
        sa.update(_proposal)
        .where(_proposal.c.id.in_(ids))
        .values(applied_at=at, applied_reference=LEGACY_REFERENCE)
    )
    connection.execute(
        sa.insert(_proposal_event),
        [
            {
                "proposal_id": proposal_id,
                "action": "applied",
                "actor_id": None,
                "actor_party": None,
                "reason": LEGACY_REASON,
                "created_at": at,
            }
            for proposal_id in ids
        ],
    )
    return ids
