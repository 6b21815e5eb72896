"""Which tables hold a participant's data, found from the database itself.

Inzage and retention must keep up with tables that feature packages add later
(plan versions, alerts, payment instructions, app messages, ...). A table holds
a participant's data when it has a `participant_id` column ("direct"), or a
foreign key to such a table ("child", e.g. proposal_event -> proposal). Tables
the ORM knows come with their real column types; others are reflected.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    JSON,
    Column,
    ColumnElement,
    MetaData,
    String,
    Table,
    Text,
    inspect,
    select,
    text,
)
from sqlalchemy.orm import Session

from backend.models import Base

PARTICIPANT_COLUMN = "participant_id"


@dataclass(frozen=True, slots=True)
class ParticipantTable:
    table: Table
    # For a child table: (its column, the parent table, the parent's key column).
    via: tuple[str, Table, str] | None = None

    @property
    def name(self) -> str:
        return self.table.name

    def of(self, participant_id: int) -> ColumnElement[bool]:
        """The WHERE clause for this participant's rows."""
        if self.via is None:
            return self.table.c[PARTICIPANT_COLUMN] == participant_id
        column, parent, key = self.via
        return self.table.c[column].in_(
            select(parent.c[key]).where(parent.c[PARTICIPANT_COLUMN] == participant_id)
        )


def _tables(session: Session) -> dict[str, Table]:
    present = set(inspect(session.connection()).get_table_names())
    tables = {name: table for name, table in Base.metadata.tables.items() if name in present}
    unknown = sorted(present - set(tables) - {"alembic_version"})
    if unknown:
        reflected = MetaData()
        reflected.reflect(bind=session.connection(), only=unknown)
        tables.update(reflected.tables)
    return tables


def participant_tables(session: Session) -> list[ParticipantTable]:
    """Direct tables first (sorted by name), then their children."""
    tables = _tables(session)
    direct = {
        name: table
        for name, table in tables.items()
        if PARTICIPANT_COLUMN in table.c and name != "participant"
    }
    found = [ParticipantTable(direct[name]) for name in sorted(direct)]
    for name in sorted(set(tables) - set(direct) - {"participant"}):
        table = tables[name]
        for foreign_key in sorted(table.foreign_keys, key=lambda key: key.parent.name):
            parent = foreign_key.column.table.name
            if parent in direct:
                found.append(
                    ParticipantTable(
                        table, (foreign_key.parent.name, direct[parent], foreign_key.column.name)
                    )
                )
                break
    return found


def text_columns(table: Table) -> list[Column[object]]:
    """Columns that can hold free text or identifiers: strings and JSON documents."""
    return [
        column
        for column in table.columns
        if isinstance(column.type, (String, Text, JSON)) and not column.primary_key
    ]


def guarded_tables(session: Session) -> frozenset[str]:
    """Tables with database triggers that refuse changes (append-only or immutable)."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        rows = session.execute(text("SELECT tbl_name FROM sqlite_master WHERE type = 'trigger'"))
    elif dialect == "postgresql":
        rows = session.execute(
            text(
                "SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE NOT t.tgisinternal"
            )
        )
    else:
        return frozenset()
    return frozenset(str(row[0]) for row in rows)
