"""The access log (after the Logboek Dataverwerkingen) and the record of pseudonymisations.

`access_log`: one row per processing of one participant's data: who (account id and
role), whose (participant id), what (resource, operation), why (processing
activity), when (UTC) and the trace it belongs to. Rows hold ids, never names or
BSNs, so pseudonymising a participant never has to touch the log. Each row carries
the hash of the row before it and its own hash (privacy.audit_chain). The database
refuses UPDATE and DELETE (triggers below, installed by the 0005 migration).

`pseudonymisation`: the retention run's record that a participant's identity was
removed, when and under which term (a destruction record for the archivist).
Append-only as well.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, BigIntId, UtcDateTime, utcnow


class AccessLogRecord(Base):
    __tablename__ = "access_log"
    __table_args__ = (Index("ix_access_log_participant", "participant_id", "sequence"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    sequence: Mapped[int] = mapped_column(BigInteger, unique=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    # No foreign keys: the log must outlive (and never block) anything it points at.
    actor_user_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_role: Mapped[str] = mapped_column(String(40))
    participant_id: Mapped[int] = mapped_column(BigInteger)
    resource: Mapped[str] = mapped_column(String(200))
    operation: Mapped[str] = mapped_column(String(10))
    processing_activity: Mapped[str] = mapped_column(String(60))
    trace_id: Mapped[str] = mapped_column(String(32), index=True)
    operation_id: Mapped[str] = mapped_column(String(16))
    previous_hash: Mapped[str] = mapped_column(String(64))
    record_hash: Mapped[str] = mapped_column(String(64), unique=True)


class PseudonymisationRecord(Base):
    __tablename__ = "pseudonymisation"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), unique=True)
    ended_on: Mapped[dt.date] = mapped_column(Date)
    term_years: Mapped[int] = mapped_column(Integer)
    due_on: Mapped[dt.date] = mapped_column(Date)
    pseudonymised_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    trace_id: Mapped[str] = mapped_column(String(32))


GUARDED_TABLES = ("access_log", "pseudonymisation")


def guard_statements(dialect: str, *, create: bool) -> list[str]:
    """Triggers that refuse UPDATE and DELETE on the privacy tables (or drop them).

    Kept here, not only in the migration, so tests that play an attacker can drop
    the guard and put it back.
    """
    if dialect == "sqlite":
        if not create:
            return [
                f"DROP TRIGGER IF EXISTS {table}_no_{action}"
                for table in GUARDED_TABLES
                for action in ("update", "delete")
            ]
        return [
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_{action.lower()} BEFORE {action} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: rows cannot be changed'); END"
            for table in GUARDED_TABLES
            for action in ("UPDATE", "DELETE")
        ]
    if dialect == "postgresql":
        if not create:
            return [
                *(
                    f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}"
                    for table in GUARDED_TABLES
                ),
                "DROP FUNCTION IF EXISTS privacy_append_only()",
            ]
        return [
            "CREATE OR REPLACE FUNCTION privacy_append_only() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION USING MESSAGE = TG_TABLE_NAME "
            "|| ' is append-only: rows cannot be changed'; END $$",
            *(
                f"CREATE OR REPLACE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION privacy_append_only()"
                for table in GUARDED_TABLES
            ),
        ]
    raise ValueError(f"no append-only guard for database {dialect!r}")
