"""The access log: recording, appending to the hash chain, verifying, reading.

Recording is cheap and happens where access is granted (backend.access.policy):
`note_access` puts a draft on the session. Appending happens once per
transaction, just before it commits (a `before_commit` hook on every Session):
the drafts get their sequence numbers and hashes and are inserted in the same
transaction as the data they are about, so either both are stored or neither.

Appends are serialised so the chain never forks: on PostgreSQL with a
transaction-scoped advisory lock, taken only for the few statements before the
commit; on SQLite by the database's single writer (API requests begin their
transaction IMMEDIATE, see backend.access.dependencies). The unique sequence
is the last line of defence: a forked append fails instead of being stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, insert, select, text
from sqlalchemy.orm import Session, SessionTransaction

from backend.logging import CURRENT_TRACE, new_operation_id, new_trace_id
from backend.models import AccessLogRecord
from backend.models.base import utcnow
from privacy.activities import (
    BUDGET_MANAGEMENT,
    PAYMENTS,
    PRIVACY_SUPERVISION,
    SUBJECT_ACCESS,
    ProcessingActivity,
)
from privacy.audit_chain import (
    AccessEntry,
    Anchor,
    ChainBreak,
    ChainError,
    ChainLink,
    ChainVerifier,
    link,
)

# pg_advisory_xact_lock key: "HHBAUDIT" as a 64-bit integer.
ADVISORY_LOCK_KEY = 0x4848424155444954
PENDING_KEY = "privacy.pending_access"
SEEN_KEY = "privacy.seen_access"
JOB_TRACE_KEY = "privacy.job_trace"
VERIFY_BATCH_ROWS = 5_000
PENDING_PER_TRANSACTION_MAX = 100_000
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Why, by route: the first matching prefix of the route template decides.
ROUTE_ACTIVITIES: tuple[tuple[str, ProcessingActivity], ...] = (
    ("/api/participants/{participant_id}/inzage", SUBJECT_ACCESS),
    ("/api/privacy/", PRIVACY_SUPERVISION),
    ("/api/finance/", PAYMENTS),
    ("/api/proposals/pending-checks", PAYMENTS),
)


@dataclass(frozen=True, slots=True)
class AccessDraft:
    occurred_at: dt.datetime
    actor_user_id: int | None
    actor_role: str
    participant_id: int
    resource: str
    operation: str
    processing_activity: str
    trace_id: str
    operation_id: str


def activity_for_route(route: str | None) -> ProcessingActivity:
    for prefix, activity in ROUTE_ACTIVITIES:
        if route is not None and route.startswith(prefix):
            return activity
    return BUDGET_MANAGEMENT


def _session_trace(session: Session) -> tuple[str, str]:
    """Outside a request or job trace: one trace per session, so its records group."""
    trace: tuple[str, str] | None = session.info.get(JOB_TRACE_KEY)
    if trace is None:
        trace = (new_trace_id(), new_operation_id())
        session.info[JOB_TRACE_KEY] = trace
    return trace


def note_access(
    session: Session,
    *,
    actor_user_id: int | None,
    actor_role: str,
    participant_id: int,
    resource: str | None = None,
    operation: str | None = None,
    activity: ProcessingActivity | None = None,
) -> None:
    """Record that this participant's data is being read or changed in this transaction.

    What, how and why default to the current request (route template, method) or
    job; the same access twice in one transaction is recorded once.
    """
    trace = CURRENT_TRACE.get()
    if trace is not None:
        trace_id, operation_id = trace.trace_id, trace.operation_id
        route = trace.route
        method = (trace.method or "GET").upper()
    else:
        trace_id, operation_id = _session_trace(session)
        route, method = None, "GET"
    resource = resource or route or "service"
    operation = operation or ("read" if method in READ_METHODS else "change")
    activity = activity or activity_for_route(route)
    key = (actor_user_id, actor_role, participant_id, resource, operation, activity.id, trace_id)
    seen: set[tuple[Any, ...]] = session.info.setdefault(SEEN_KEY, set())
    if key in seen:
        return
    pending: list[AccessDraft] = session.info.setdefault(PENDING_KEY, [])
    if len(pending) >= PENDING_PER_TRANSACTION_MAX:
        raise RuntimeError(
            f"more than {PENDING_PER_TRANSACTION_MAX} access-log records in one transaction"
        )
    seen.add(key)
    pending.append(
        AccessDraft(
            occurred_at=utcnow(),
            actor_user_id=actor_user_id,
            actor_role=actor_role,
            participant_id=participant_id,
            resource=resource[:200],
            operation=operation,
            processing_activity=activity.id,
            trace_id=trace_id,
            operation_id=operation_id,
        )
    )


def pending_count(session: Session) -> int:
    return len(session.info.get(PENDING_KEY, ()))


def _lock_chain(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})


def _head(session: Session) -> ChainLink | None:
    row = session.scalars(
        select(AccessLogRecord).order_by(AccessLogRecord.sequence.desc()).limit(1)
    ).first()
    return None if row is None else _as_link(row)


def append_drafts(session: Session, drafts: list[AccessDraft]) -> list[ChainLink]:
    """Append to the chain in this transaction (serialised); the caller commits."""
    if not drafts:
        return []
    _lock_chain(session)
    previous = _head(session)
    links: list[ChainLink] = []
    for draft in drafts:
        entry = AccessEntry(
            sequence=1 if previous is None else previous.entry.sequence + 1,
            occurred_at=draft.occurred_at,
            actor_user_id=draft.actor_user_id,
            actor_role=draft.actor_role,
            participant_id=draft.participant_id,
            resource=draft.resource,
            operation=draft.operation,
            processing_activity=draft.processing_activity,
            trace_id=draft.trace_id,
            operation_id=draft.operation_id,
        )
        previous = link(entry, previous)
        links.append(previous)
    session.execute(
        insert(AccessLogRecord),
        [
            {
                "sequence": item.entry.sequence,
                "occurred_at": item.entry.occurred_at,
                "actor_user_id": item.entry.actor_user_id,
                "actor_role": item.entry.actor_role,
                "participant_id": item.entry.participant_id,
                "resource": item.entry.resource,
                "operation": item.entry.operation,
                "processing_activity": item.entry.processing_activity,
                "trace_id": item.entry.trace_id,
                "operation_id": item.entry.operation_id,
                "previous_hash": item.previous_hash,
                "record_hash": item.record_hash,
            }
            for item in links
        ],
    )
    return links


def flush_access_log(session: Session) -> int:
    """Append what this transaction recorded so far (also done automatically at commit)."""
    pending: list[AccessDraft] = session.info.get(PENDING_KEY) or []
    if not pending:
        return 0
    drafts = list(pending)
    pending.clear()
    append_drafts(session, drafts)
    return len(drafts)


@event.listens_for(Session, "before_commit")
def _append_before_commit(session: Session) -> None:
    if not session.in_nested_transaction():  # a savepoint: the outer commit appends
        flush_access_log(session)


@event.listens_for(Session, "after_transaction_end")
def _forget_after_transaction(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(PENDING_KEY, None)
        session.info.pop(SEEN_KEY, None)
        session.info.pop(JOB_TRACE_KEY, None)


# Reading and verifying


def _as_entry(row: Any) -> AccessEntry:
    return AccessEntry(
        sequence=row.sequence,
        occurred_at=row.occurred_at,
        actor_user_id=row.actor_user_id,
        actor_role=row.actor_role,
        participant_id=row.participant_id,
        resource=row.resource,
        operation=row.operation,
        processing_activity=row.processing_activity,
        trace_id=row.trace_id,
        operation_id=row.operation_id,
    )


def _as_link(row: Any) -> ChainLink:
    return ChainLink(_as_entry(row), row.previous_hash, row.record_hash)


@dataclass(frozen=True, slots=True)
class VerifyResult:
    checked: int
    head: Anchor | None
    broken: ChainBreak | None

    @property
    def ok(self) -> bool:
        return self.broken is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "records_checked": self.checked,
            "head": str(self.head) if self.head is not None else None,
            "first_broken_record": None
            if self.broken is None
            else {
                "sequence": self.broken.sequence,
                "id": self.broken.record_id,
                "reason": self.broken.reason,
            },
        }


def _rows_in_order(session: Session, batch_rows: int) -> Iterator[Any]:
    """Rows (not ORM objects: nothing piles up in the session), in sequence order."""
    table = AccessLogRecord.__table__
    after = 0
    while True:
        rows = list(
            session.execute(
                select(table)
                .where(table.c.sequence > after)
                .order_by(table.c.sequence)
                .limit(batch_rows)
            )
        )
        yield from rows
        if len(rows) < batch_rows:
            return
        after = rows[-1].sequence


def verify_chain(
    session: Session, *, anchors: tuple[Anchor, ...] = (), batch_rows: int = VERIFY_BATCH_ROWS
) -> VerifyResult:
    """Walk the whole log in sequence order; stop at the first record that does not fit."""
    verifier = ChainVerifier(anchors=anchors)
    for row in _rows_in_order(session, batch_rows):
        try:
            chain_link = _as_link(row)
        except (ChainError, ValueError, TypeError) as error:
            verifier.broken = ChainBreak(
                row.sequence, row.id, f"its content is not a valid record ({error})"
            )
            break
        if verifier.feed(chain_link, row.id) is not None:
            break
    broken = verifier.finish()
    return VerifyResult(verifier.checked, verifier.head, broken)


def entries_about(
    session: Session,
    participant_id: int | None,
    *,
    limit: int,
    before_sequence: int | None = None,
) -> list[AccessLogRecord]:
    """The newest access-log records (about one participant, or about anyone)."""
    query = select(AccessLogRecord)
    if participant_id is not None:
        query = query.where(AccessLogRecord.participant_id == participant_id)
    if before_sequence is not None:
        query = query.where(AccessLogRecord.sequence < before_sequence)
    return list(session.scalars(query.order_by(AccessLogRecord.sequence.desc()).limit(limit)))
