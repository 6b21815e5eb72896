"""The 0003_access migration builds exactly the tables the models describe."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from backend.models import Base

ACCESS_TABLES = {
    "user_account",
    "caseload_assignment",
    "refresh_token",
    "proposal",
    "proposal_event",
    "life_event",
    "emergency_request",
}


def _table_of(diff: Any) -> str | None:
    if isinstance(diff, list):  # column modifications come as a list of tuples
        return _table_of(diff[0])
    for item in diff[1:]:
        name = getattr(item, "name", None)
        table = getattr(item, "table", None)
        if table is not None and getattr(table, "name", None):
            return str(table.name)
        if name in ACCESS_TABLES:
            return str(name)
        if isinstance(item, str) and item in ACCESS_TABLES:
            return item
    return None


def test_models_match_migrations(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_as_batch": True}
        )
        diffs = compare_metadata(context, Base.metadata)
    ours = [diff for diff in diffs if _table_of(diff) in ACCESS_TABLES]
    assert ours == []
    assert set(inspect(engine).get_table_names()) >= ACCESS_TABLES
