"""The one write path for journal entries, and the ledger check.

- every entry is validated by the pure core (zero sum, explanation, limits);
- the idempotency key is unique: a replay with the same content returns the
  stored entry, the same key with other content is refused;
- a reversal must negate exactly the entry it names, and an entry is reversed once;
- writes go through SQLAlchemy Core in bulk (see PERFORMANCE-NOTES.md).
Services only flush: the caller commits.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, Table, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.errors import Conflict, IdempotencyConflict, InvalidInput, NotFound
from backend.ledger_store.accounts import account_refs_by_id, resolve_account_ids
from backend.models import JournalEntryRecord, LedgerAccount, PostingRecord
from backend.models.base import utcnow
from ledger import (
    AccountRef,
    JournalEntry,
    LedgerError,
    Posting,
    Violation,
    check_balances,
    check_entry,
    entry_fingerprint,
)

_CHUNK = 500
_JOURNAL_ENTRY = cast(Table, JournalEntryRecord.__table__)
_POSTING = cast(Table, PostingRecord.__table__)


@dataclass(frozen=True, slots=True)
class PostedEntry:
    entry: JournalEntry
    entry_id: int
    created: bool


def post_entry(session: Session, entry: JournalEntry, *, created_by: str) -> PostedEntry:
    return post_entries(session, [entry], created_by=created_by)[0]


def post_entries(
    session: Session, entries: Sequence[JournalEntry], *, created_by: str
) -> list[PostedEntry]:
    """Store entries that are new; return every entry with its id and whether it was new."""
    keys = [entry.idempotency_key for entry in entries]
    if len(set(keys)) != len(keys):
        raise InvalidInput("the same idempotency key appears twice in one request")
    fingerprints = {entry.idempotency_key: entry_fingerprint(entry) for entry in entries}
    existing = _existing_by_key(session, keys)
    for key, (_, stored_fingerprint) in existing.items():
        if stored_fingerprint != fingerprints[key]:
            raise IdempotencyConflict(
                f"idempotency key {key!r} was already used for a different movement"
            )
    new_entries = [entry for entry in entries if entry.idempotency_key not in existing]
    new_ids = _insert_entries(session, new_entries, fingerprints, created_by) if new_entries else {}
    return [
        PostedEntry(
            entry=entry,
            entry_id=existing[entry.idempotency_key][0]
            if entry.idempotency_key in existing
            else new_ids[entry.idempotency_key],
            created=entry.idempotency_key not in existing,
        )
        for entry in entries
    ]


def _existing_by_key(session: Session, keys: Sequence[str]) -> dict[str, tuple[int, str]]:
    found: dict[str, tuple[int, str]] = {}
    for start in range(0, len(keys), _CHUNK):
        rows = session.execute(
            select(
                JournalEntryRecord.idempotency_key,
                JournalEntryRecord.id,
                JournalEntryRecord.fingerprint,
            ).where(JournalEntryRecord.idempotency_key.in_(keys[start : start + _CHUNK]))
        )
        for key, entry_id, fingerprint in rows:
            found[key] = (entry_id, fingerprint)
    return found


def _insert_entries(
    session: Session,
    entries: Sequence[JournalEntry],
    fingerprints: dict[str, str],
    created_by: str,
) -> dict[str, int]:
    reversed_ids = _check_reversals(session, entries)
    account_ids = resolve_account_ids(
        session, {posting.account for entry in entries for posting in entry.postings}
    )
    now = utcnow()
    entry_rows = [
        {
            "idempotency_key": entry.idempotency_key,
            "fingerprint": fingerprints[entry.idempotency_key],
            "booking_date": entry.booking_date,
            "reason_code": entry.reason_code,
            "explanation": entry.explanation,
            "explanation_en": entry.explanation_en,
            "reverses_entry_id": reversed_ids.get(entry.idempotency_key),
            # Core inserts (below) take column names: the column is "metadata".
            "metadata": dict(entry.metadata),
            "created_by": created_by,
            "created_at": now,
        }
        for entry in entries
    ]
    ids: dict[str, int] = {}
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        ids = _copy_entries(connection, entry_rows)
    else:
        for start in range(0, len(entry_rows), _CHUNK):
            # Core, not the ORM's bulk path (PERFORMANCE-NOTES.md). Ids are matched by
            # idempotency key, so rows may come back in any order: without
            # sort_by_parameter_order SQLite inserts a chunk in one statement, not row by row.
            result = connection.execute(
                insert(_JOURNAL_ENTRY).returning(
                    _JOURNAL_ENTRY.c.id, _JOURNAL_ENTRY.c.idempotency_key
                ),
                entry_rows[start : start + _CHUNK],
            )
            ids.update({key: entry_id for entry_id, key in result})
    _insert_postings(
        session,
        [
            (ids[entry.idempotency_key], account_ids[posting.account], posting.amount_cents)
            for entry in entries
            for posting in entry.postings
        ],
    )
    return ids


_POSTING_NAMES = ("journal_entry_id", "account_id", "amount_cents")
_COPY_POSTINGS = "COPY posting (journal_entry_id, account_id, amount_cents) FROM STDIN"
_INSERT_POSTINGS = (
    "INSERT INTO posting (journal_entry_id, account_id, amount_cents) VALUES (?, ?, ?)"
)


_ENTRY_COLUMNS = (
    "id",
    "idempotency_key",
    "fingerprint",
    "booking_date",
    "reason_code",
    "explanation",
    "explanation_en",
    "reverses_entry_id",
    "metadata",
    "created_by",
    "created_at",
)
_COPY_ENTRIES = f"COPY journal_entry ({', '.join(_ENTRY_COLUMNS)}) FROM STDIN"
_NEXT_ENTRY_IDS = (
    "SELECT nextval(pg_get_serial_sequence('journal_entry', 'id'))"
    " FROM generate_series(1, %(count)s)"
)


def _copy_entries(connection: Connection, rows: list[dict[str, Any]]) -> dict[str, int]:
    """PostgreSQL: ids from the sequence in one query, then COPY. The multi-row
    INSERT ... RETURNING it replaces spent most of its time in psycopg converting the
    placeholders of each 5,000-parameter statement (docs/performance.md)."""
    from psycopg.types.json import Json

    if not rows:
        return {}
    new_ids = sorted(connection.exec_driver_sql(_NEXT_ENTRY_IDS, {"count": len(rows)}).scalars())
    ids: dict[str, int] = {}
    values = []
    for entry_id, row in zip(new_ids, rows, strict=True):
        ids[row["idempotency_key"]] = entry_id
        values.append(
            (entry_id, *(row[name] for name in _ENTRY_COLUMNS[1:8]), Json(row["metadata"]),
             row["created_by"], row["created_at"])
        )  # fmt: skip
    _copy(connection, _COPY_ENTRIES, values)
    return ids


def _copy(connection: Connection, statement: str, rows: Iterable[Sequence[Any]]) -> None:
    """COPY rows in the connection's transaction; a constraint violation is raised as
    SQLAlchemy's IntegrityError, as an INSERT through SQLAlchemy would be."""
    import psycopg

    driver = connection.connection.driver_connection
    assert driver is not None
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
    except psycopg.IntegrityError as error:
        raise IntegrityError(statement, None, error) from error


def _insert_postings(session: Session, rows: list[tuple[int, int, int]]) -> None:
    """Postings are three integers: straight to the driver, without SQLAlchemy's
    per-row parameter processing (a third of the daily cycle's write time,
    docs/performance.md). PostgreSQL: COPY, as fast as the driver goes; SQLite: one
    executemany of a prepared statement. Same transaction as everything else."""
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        _copy(connection, _COPY_POSTINGS, rows)
    elif dialect == "sqlite":
        connection.exec_driver_sql(_INSERT_POSTINGS, rows)
    else:
        named = [dict(zip(_POSTING_NAMES, row, strict=True)) for row in rows]
        for start in range(0, len(named), _CHUNK * 10):
            connection.execute(insert(_POSTING), named[start : start + _CHUNK * 10])


def _check_reversals(session: Session, entries: Sequence[JournalEntry]) -> dict[str, int]:
    """A reversal must name a stored, not yet reversed entry and negate it exactly."""
    reversals = [entry for entry in entries if entry.reverses_key is not None]
    result: dict[str, int] = {}
    for reversal in reversals:
        assert reversal.reverses_key is not None
        original = load_entry(session, reversal.reverses_key)
        if original is None:
            raise InvalidInput(
                f"entry {reversal.idempotency_key!r} reverses {reversal.reverses_key!r}, "
                "which does not exist"
            )
        original_id, original_entry = original
        already = session.scalar(
            select(JournalEntryRecord.idempotency_key).where(
                JournalEntryRecord.reverses_entry_id == original_id
            )
        )
        if already is not None:
            raise Conflict(f"entry {reversal.reverses_key!r} was already reversed by {already!r}")
        expected = sorted((p.account.label(), -p.amount_cents) for p in original_entry.postings)
        actual = sorted((p.account.label(), p.amount_cents) for p in reversal.postings)
        if expected != actual:
            raise InvalidInput(
                f"entry {reversal.idempotency_key!r} does not exactly undo "
                f"{reversal.reverses_key!r}; a reversal negates every posting"
            )
        result[reversal.idempotency_key] = original_id
    return result


def load_entry(session: Session, idempotency_key: str) -> tuple[int, JournalEntry] | None:
    record = session.scalar(
        select(JournalEntryRecord).where(JournalEntryRecord.idempotency_key == idempotency_key)
    )
    if record is None:
        return None
    entries = _rebuild(session, [record])
    entry = entries[record.id]
    if isinstance(entry, Violation):
        raise Conflict(f"stored entry {idempotency_key!r} is damaged: {entry.message}")
    return record.id, entry


def require_entry(session: Session, idempotency_key: str) -> tuple[int, JournalEntry]:
    found = load_entry(session, idempotency_key)
    if found is None:
        raise NotFound(f"journal entry {idempotency_key!r} does not exist")
    return found


def _rebuild(
    session: Session, records: Sequence[JournalEntryRecord]
) -> dict[int, JournalEntry | Violation]:
    """Turn stored rows back into validated core entries (or a violation if they no longer
    validate, e.g. after tampering)."""
    by_id = {record.id: record for record in records}
    postings: dict[int, list[tuple[int, int]]] = defaultdict(list)
    rows = session.execute(
        select(PostingRecord.journal_entry_id, PostingRecord.account_id, PostingRecord.amount_cents)
        .where(PostingRecord.journal_entry_id.in_(list(by_id)))
        .order_by(PostingRecord.id)
    )
    for entry_id, account_id, amount in rows:
        postings[entry_id].append((account_id, amount))
    refs = account_refs_by_id(
        session, (account_id for lines in postings.values() for account_id, _ in lines)
    )
    reversed_keys = _keys_by_id(
        session, [r.reverses_entry_id for r in records if r.reverses_entry_id is not None]
    )
    rebuilt: dict[int, JournalEntry | Violation] = {}
    for entry_id, record in by_id.items():
        try:
            rebuilt[entry_id] = JournalEntry(
                idempotency_key=record.idempotency_key,
                booking_date=record.booking_date,
                reason_code=record.reason_code,
                explanation=record.explanation,
                explanation_en=record.explanation_en,
                postings=tuple(Posting(refs[a], amount) for a, amount in postings[entry_id]),
                reverses_key=reversed_keys.get(record.reverses_entry_id or -1),
                metadata=tuple(sorted((record.entry_metadata or {}).items())),
            )
        except LedgerError as error:
            rebuilt[entry_id] = Violation(
                "entry.invalid", str(error), entry_key=record.idempotency_key
            )
    return rebuilt


def _keys_by_id(session: Session, entry_ids: list[int]) -> dict[int, str]:
    if not entry_ids:
        return {}
    rows = session.execute(
        select(JournalEntryRecord.id, JournalEntryRecord.idempotency_key).where(
            JournalEntryRecord.id.in_(entry_ids)
        )
    )
    return {row.id: row.idempotency_key for row in rows}


def account_balances(
    session: Session, *, participant_id: int | None = None
) -> dict[AccountRef, int]:
    """Raw (debit-positive) balances per account, summed in the database."""
    query = select(PostingRecord.account_id, func.sum(PostingRecord.amount_cents)).group_by(
        PostingRecord.account_id
    )
    if participant_id is not None:
        query = query.join(LedgerAccount, LedgerAccount.id == PostingRecord.account_id).where(
            LedgerAccount.participant_id == participant_id
        )
    sums = {account_id: int(total) for account_id, total in session.execute(query)}
    refs = account_refs_by_id(session, sums)
    return {refs[account_id]: total for account_id, total in sums.items()}


def iter_entries(
    session: Session, *, batch_size: int = 2000
) -> Iterator[tuple[JournalEntryRecord, JournalEntry | Violation]]:
    last_id = 0
    while True:
        records = list(
            session.scalars(
                select(JournalEntryRecord)
                .where(JournalEntryRecord.id > last_id)
                .order_by(JournalEntryRecord.id)
                .limit(batch_size)
            )
        )
        if not records:
            return
        rebuilt = _rebuild(session, records)
        for record in records:
            yield record, rebuilt[record.id]
        last_id = records[-1].id
        session.expunge_all()


def check_ledger(session: Session) -> list[Violation]:
    """Every invariant over the stored ledger: each entry valid and untampered,
    reversals pointing at what they undo, and the balance invariants."""
    violations: list[Violation] = []
    for record, entry in iter_entries(session):
        if isinstance(entry, Violation):
            violations.append(entry)
            continue
        violations.extend(check_entry(entry, stored_fingerprint=record.fingerprint))
    violations.extend(check_balances(account_balances(session)))
    return violations


def ledger_summary(session: Session) -> dict[str, int]:
    entries = session.scalar(select(func.count(JournalEntryRecord.id))) or 0
    postings = session.scalar(select(func.count(PostingRecord.id))) or 0
    return {"journal_entries": int(entries), "postings": int(postings)}
