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

from backend.models import append_only
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
    """Triggers that refuse UPDATE and DELETE on the privacy tables (or drop them)."""
    return append_only.guard_statements(
        dialect,
        GUARDED_TABLES,
        create=create,
        function_name="privacy_append_only",
        message="privacy records are append-only: rows cannot be changed",
    )
