"""Co-decision: proposals and their history, life events, emergency requests.

A proposal holds one plan change as JSON (`kind` + `payload`, validated by
backend.codecision.changes). Its status moves only forward; every step is a
`proposal_event` row, which the database keeps append-only.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, BigIntId, UtcDateTime, utcnow

PROPOSAL_STATUSES = (
    "proposed",
    "approved",
    "rejected",
    "withdrawn",
    "expired",
    "emergency_applied",
)


class Proposal(Base):
    __tablename__ = "proposal"
    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{status}'" for status in PROPOSAL_STATUSES) + ")",
            name="status",
        ),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    proposed_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    proposer_party: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reason: Mapped[str] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(20), index=True)
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    effective_from: Mapped[dt.date] = mapped_column(Date)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    decision_reason: Mapped[str | None] = mapped_column(String(1000))
    # Set when the change has been turned into a plan version (backend.codecision.applying).
    applied_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    applied_reference: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class ProposalEvent(Base):
    """One step in a proposal's life; append-only (database triggers refuse changes)."""

    __tablename__ = "proposal_event"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposal.id"), index=True)
    action: Mapped[str] = mapped_column(String(30))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    actor_party: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class LifeEvent(Base):
    """Something changed in a participant's life (moving, new job, birth, ...)."""

    __tablename__ = "life_event"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    note: Mapped[str] = mapped_column(String(1000), default="")
    occurs_on: Mapped[dt.date | None] = mapped_column(Date)
    created_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class EmergencyRequest(Base):
    """The emergency button (noodknop): the participant asks for help now."""

    __tablename__ = "emergency_request"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    note: Mapped[str] = mapped_column(String(1000), default="")
    created_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
