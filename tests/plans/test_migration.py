"""The 0004_plans migration builds exactly the tables and columns the models describe."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from backend.models import Base

PLAN_TABLES = {"plan_version", "income_expectation", "cycle_run", "cycle_state", "agreement"}


def _tables(diff: Any) -> set[str]:
    """Every table name a diff entry mentions (entries are tuples or lists of tuples)."""
    if isinstance(diff, list):
        return set().union(*(_tables(item) for item in diff))
    found: set[str] = set()
    for item in diff:
        if isinstance(item, str) and item in PLAN_TABLES:
            found.add(item)
        for attribute in ("name", "table"):
            value = getattr(item, attribute, None)
            name = getattr(value, "name", value)
            if isinstance(name, str) and name in PLAN_TABLES:
                found.add(name)
    return found


def test_models_match_migrations(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_as_batch": True}
        )
        diffs = compare_metadata(context, Base.metadata)
    assert [diff for diff in diffs if _tables(diff)] == []
    assert set(inspect(engine).get_table_names()) >= PLAN_TABLES
