"""The 0007_bank_import migration builds exactly the tables the models describe, and
reconciliation finds the columns it reads."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from backend.models import Base
from backend.payments.reconcile import STATEMENT_COLUMNS

TABLES = {"bank_statement", "bank_entry", "suspense_assignment"}


def _table_of(diff: Any) -> str | None:
    if isinstance(diff, list):  # column modifications come as a list of tuples
        return _table_of(diff[0])
    for item in diff[1:]:
        table = getattr(item, "table", None)
        if table is not None and getattr(table, "name", None):
            return str(table.name)
        name = getattr(item, "name", None) or (item if isinstance(item, str) else None)
        if name in TABLES:
            return str(name)
    return None


def test_models_match_migration(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_as_batch": True}
        )
        diffs = compare_metadata(context, Base.metadata)
    assert [diff for diff in diffs if _table_of(diff) in TABLES] == []
    inspector = inspect(engine)
    assert set(inspector.get_table_names()) >= TABLES
    columns = {column["name"] for column in inspector.get_columns("bank_statement")}
    assert set(STATEMENT_COLUMNS) <= columns
    unique = {
        tuple(constraint["column_names"])
        for constraint in inspector.get_unique_constraints("bank_entry")
    }
    assert ("dedup_key",) in unique
