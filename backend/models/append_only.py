"""Database triggers that make the ledger tables append-only.

Used by the migrations; kept here so tests (which simulate an attacker who
drops the guard) can put it back.
"""

from __future__ import annotations

APPEND_ONLY_TABLES = ("journal_entry", "posting")


def create_statements(dialect: str) -> list[str]:
    if dialect == "sqlite":
        return [
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_{action.lower()} BEFORE {action} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, 'ledger is append-only: {table} rows cannot be changed; "
            "book a reversal'); END"
            for table in APPEND_ONLY_TABLES
            for action in ("UPDATE", "DELETE")
        ]
    if dialect == "postgresql":
        return [
            "CREATE OR REPLACE FUNCTION ledger_append_only() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION USING MESSAGE = 'ledger is append-only: ' || TG_TABLE_NAME "
            "|| ' rows cannot be changed; book a reversal'; END $$",
            *(
                f"CREATE OR REPLACE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION ledger_append_only()"
                for table in APPEND_ONLY_TABLES
            ),
        ]
    raise ValueError(f"no append-only guard for database {dialect!r}")


def drop_statements(dialect: str) -> list[str]:
    if dialect == "sqlite":
        return [
            f"DROP TRIGGER IF EXISTS {table}_no_{action}"
            for table in APPEND_ONLY_TABLES
            for action in ("update", "delete")
        ]
    if dialect == "postgresql":
        return [
            *(
                f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}"
                for table in APPEND_ONLY_TABLES
            ),
            "DROP FUNCTION IF EXISTS ledger_append_only()",
        ]
    raise ValueError(f"no append-only guard for database {dialect!r}")
