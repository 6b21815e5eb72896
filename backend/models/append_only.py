"""Database triggers that refuse UPDATE and DELETE on tables that only grow.

One generator for every such table (the ledger, the access log, the co-decision
history, plan versions). Used by the migrations; kept here so tests (which simulate
an attacker who drops the guard) can put it back.
"""

from __future__ import annotations

from collections.abc import Sequence

LEDGER_TABLES = ("journal_entry", "posting")
LEDGER_MESSAGE = "ledger is append-only: rows cannot be changed; book a reversal"


def guard_statements(
    dialect: str,
    tables: Sequence[str],
    *,
    create: bool,
    function_name: str,
    message: str,
    trigger_suffix: str = "append_only",
) -> list[str]:
    """The statements that create (or drop) the guard on `tables`.

    SQLite: triggers `<table>_no_update` and `<table>_no_delete`. PostgreSQL: one
    function `function_name` and a trigger `<table>_<trigger_suffix>` per table.
    `message` is a constant SQL string literal body (no quotes, no percent signs).
    """
    if "'" in message or "%" in message:
        raise ValueError("the guard message must not contain quotes or percent signs")
    if dialect == "sqlite":
        if not create:
            return [
                f"DROP TRIGGER IF EXISTS {table}_no_{action}"
                for table in tables
                for action in ("update", "delete")
            ]
        return [
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_{action.lower()} BEFORE {action} "
            f"ON {table} BEGIN SELECT RAISE(ABORT, '{message}'); END"
            for table in tables
            for action in ("UPDATE", "DELETE")
        ]
    if dialect == "postgresql":
        if not create:
            return [
                *(
                    f"DROP TRIGGER IF EXISTS {table}_{trigger_suffix} ON {table}"
                    for table in tables
                ),
                f"DROP FUNCTION IF EXISTS {function_name}()",
            ]
        return [
            f"CREATE OR REPLACE FUNCTION {function_name}() RETURNS trigger LANGUAGE plpgsql "
            f"AS $$ BEGIN RAISE EXCEPTION USING MESSAGE = '{message}'; END $$",
            *(
                f"CREATE OR REPLACE TRIGGER {table}_{trigger_suffix} BEFORE UPDATE OR DELETE "
                f"ON {table} FOR EACH ROW EXECUTE FUNCTION {function_name}()"
                for table in tables
            ),
        ]
    raise ValueError(f"no append-only guard for database {dialect!r}")


def create_statements(dialect: str) -> list[str]:
    """The ledger's guard."""
    return guard_statements(
        dialect,
        LEDGER_TABLES,
        create=True,
        function_name="ledger_append_only",
        message=LEDGER_MESSAGE,
    )


def drop_statements(dialect: str) -> list[str]:
    return guard_statements(
        dialect,
        LEDGER_TABLES,
        create=False,
        function_name="ledger_append_only",
        message=LEDGER_MESSAGE,
    )
