"""Alerts (signalen): something a caseworker or finance user should look at.

Written by payments (a returned or rejected payment) and open to other domains.
`dedup_key` makes raising the same alert twice (a replayed import) a no-op.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, BigIntId, UtcDateTime, utcnow

ALERT_SEVERITIES = ("info", "warning", "critical")


class Alert(Base):
    __tablename__ = "alert"
    __table_args__ = (
        CheckConstraint("severity IN ('info', 'warning', 'critical')", name="severity_known"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participant.id"), index=True)
    kind: Mapped[str] = mapped_column(String(60))
    severity: Mapped[str] = mapped_column(String(10))
    message_nl: Mapped[str] = mapped_column(String(500))
    message_en: Mapped[str] = mapped_column(String(500))
    payment_instruction_id: Mapped[int | None] = mapped_column(
        ForeignKey("payment_instruction.id"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(100))
