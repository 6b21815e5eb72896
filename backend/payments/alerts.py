"""Alerts: raised once per dedup key, so a replayed import raises nothing new."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.models import Alert


def raise_alert(
    session: Session,
    *,
    dedup_key: str,
    participant_id: int | None,
    kind: str,
    severity: str,
    message_nl: str,
    message_en: str,
    payment_instruction_id: int | None = None,
) -> tuple[Alert, bool]:
    """The alert for `dedup_key` and whether it was new. Only flushes."""
    existing = session.scalar(select(Alert).where(Alert.dedup_key == dedup_key))
    if existing is not None:
        return existing, False
    alert = Alert(
        dedup_key=dedup_key,
        participant_id=participant_id,
        kind=kind,
        severity=severity,
        message_nl=message_nl[:500],
        message_en=message_en[:500],
        payment_instruction_id=payment_instruction_id,
    )
    session.add(alert)
    session.flush()
    return alert, True


def open_alerts(session: Session, *, participant_id: int | None = None) -> list[Alert]:
    query = select(Alert).where(Alert.resolved_at.is_(None)).order_by(Alert.id)
    if participant_id is not None:
        query = query.where(Alert.participant_id == participant_id)
    return list(session.scalars(query))
