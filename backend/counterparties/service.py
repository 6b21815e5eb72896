"""Counterparties are shared: one creditor (e.g. Mitros) serves many participants."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.iban import validate_iban
from backend.models import Counterparty


def get_or_create_counterparty(
    session: Session, *, name: str, iban: str, category: str = "other"
) -> Counterparty:
    compact = validate_iban(iban, field="counterparty iban")
    existing = session.scalar(select(Counterparty).where(Counterparty.iban == compact))
    if existing is not None:
        return existing
    counterparty = Counterparty(name=name, iban=compact, category=category)
    session.add(counterparty)
    session.flush()
    return counterparty
