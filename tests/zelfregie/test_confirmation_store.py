"""The `self_payment_confirmation` table: migration 0010 matches the model, and the
database refuses to change or remove a confirmation (append-only)."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from backend.db import transaction
from backend.models import Base, SelfPaymentConfirmation
from backend.models.base import utcnow
from tests.access.conftest import SEED_TODAY, Demo

TABLE = "self_payment_confirmation"


def _mentions(diff: Any) -> bool:
    if isinstance(diff, list):
        return any(_mentions(item) for item in diff)
    return any(
        item == TABLE
        or getattr(item, "name", None) == TABLE
        or getattr(getattr(item, "table", None), "name", None) == TABLE
        for item in diff
    )


def test_the_model_matches_the_migration(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_as_batch": True}
        )
        diffs = compare_metadata(context, Base.metadata)
    assert [diff for diff in diffs if _mentions(diff)] == []


@pytest.mark.parametrize("statement", ["UPDATE {t} SET due_date = due_date", "DELETE FROM {t}"])
def test_a_confirmation_cannot_be_changed_or_removed(
    demo: Demo, session_factory: sessionmaker[Session], statement: str
) -> None:
    with transaction(session_factory) as session:
        session.add(
            SelfPaymentConfirmation(
                participant_id=demo.participants["anna"],
                agreement_id="telefoon",
                due_date=SEED_TODAY,
                confirmed_by=demo.users["anna"],
                confirmed_party="participant",
                created_at=utcnow(),
            )
        )
    with pytest.raises(DBAPIError, match="append-only"), transaction(session_factory) as session:
        session.execute(text(statement.format(t=TABLE)))
    with session_factory() as session:
        assert session.query(SelfPaymentConfirmation).count() == 1
