"""The demo history arrives through real bank statements: every income matched to its
plan, no suspense, the ledger checks out and every statement reconciles."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.config import Settings
from backend.db import transaction
from backend.demo.seed import seed_demo
from backend.ledger_store import check_ledger
from backend.models import BankEntryRecord, BankStatementRecord, JournalEntryRecord
from backend.payments import reconcile
from tests.access.conftest import fast_password_hashing  # noqa: F401 - a fixture

SEED_TODAY = dt.date(2026, 11, 28)


def test_demo_incomes_come_from_imported_statements(
    session_factory: sessionmaker[Session],
    settings: Settings,
    fast_password_hashing: None,  # noqa: F811
) -> None:
    with transaction(session_factory, write=True) as session:
        seed_demo(session, settings.field_cipher(), today=SEED_TODAY)
    with session_factory() as session:
        statements = list(session.scalars(select(BankStatementRecord)))
        assert statements and all(s.gap_cents in (None, 0) for s in statements)
        statuses = {entry.status for entry in session.scalars(select(BankEntryRecord))}
        assert statuses == {"matched_income"}
        late = session.scalars(
            select(JournalEntryRecord.explanation).where(
                JournalEntryRecord.explanation.like("%(later dan verwacht)%")
            )
        ).all()
        assert late == ["Zorgtoeslag oktober van Belastingdienst Toeslagen (later dan verwacht)"]
        assert check_ledger(session) == []
        assert reconcile(session).ok
    with transaction(session_factory, write=True) as session:
        again = seed_demo(session, settings.field_cipher(), today=SEED_TODAY)
    assert again.journal_entries_created == 0
