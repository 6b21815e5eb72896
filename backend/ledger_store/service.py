"""The one write path for journal entries, and the ledger check.

- every entry is validated by the pure core (zero sum, explanation, limits);
- the idempotency key is unique: a replay with the same content returns the
  stored entry, the same key with other content is refused;
- a reversal must negate exactly the entry it names, and an entry is reversed once;
- writes go through SQLAlchemy Core in bulk (see PERFORMANCE-NOTES.md);
- the participant accounts' kept balances (`ledger_account_balance`, see
  `balances`) are added to in the same transaction as the postings.
Services only flush: the caller commits.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii as _ascii  # as json.dumps
from typing import Any, cast

from sqlalchemy import Connection, Table, func, insert, select
from sqlalchemy.orm import Session

from backend.errors import Conflict, IdempotencyConflict, InvalidInput, NotFound
from backend.ledger_store import balances
from backend.ledger_store.accounts import account_refs_by_id, resolve_account_ids
from backend.ledger_store.driver import insert_rows, select_in
from backend.models import AccountBalance, JournalEntryRecord, LedgerAccount, PostingRecord
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
    if not entries:
        return []
    if session.autoflush:  # the lookups below go to the driver, past the ORM's autoflush
        session.flush()
    existing = _existing_by_key(session.connection(), keys)
    new_entries: list[tuple[JournalEntry, str]] = []
    for entry in entries:
        fingerprint = entry_fingerprint(entry)
        found = existing.get(entry.idempotency_key)
        if found is None:
            new_entries.append((entry, fingerprint))
        elif found[1] != fingerprint:
            raise IdempotencyConflict(
                f"idempotency key {entry.idempotency_key!r} was already used for a different "
                "movement"
            )
    new_ids = _insert_entries(session, new_entries, created_by) if new_entries else {}
    posted: list[PostedEntry] = []
    for entry in entries:
        found = existing.get(entry.idempotency_key)
        if found is None:
            posted.append(PostedEntry(entry, new_ids[entry.idempotency_key], True))
        else:
            posted.append(PostedEntry(entry, found[0], False))
    return posted


_EXISTING_BY_KEY = (
    "SELECT idempotency_key, id, fingerprint FROM journal_entry WHERE idempotency_key {in}"
)


def _existing_by_key(connection: Connection, keys: Sequence[str]) -> dict[str, tuple[int, str]]:
    """Stored (id, fingerprint) per key, from the unique index; straight to the driver
    (SQLAlchemy's processing of 500 bound keys per query cost more than the query)."""
    return {
        key: (entry_id, fingerprint)
        for key, entry_id, fingerprint in select_in(connection, _EXISTING_BY_KEY, keys)
    }


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
_NEXT_ENTRY_IDS = (
    "SELECT nextval(pg_get_serial_sequence('journal_entry', 'id'))"
    " FROM generate_series(1, %(count)s)"
)
# SQLite: what the database would give itself (INTEGER PRIMARY KEY without
# AUTOINCREMENT takes the highest id + 1). The transaction writes below, so no other
# writer can take these ids before it commits: SQLite has one writer, and a read
# snapshot that another writer made stale cannot be upgraded to write (SQLITE_BUSY),
# so the inserts fail rather than collide.
_LAST_ENTRY_ID = "SELECT coalesce(max(id), 0) FROM journal_entry"


def _insert_entries(
    session: Session, entries: Sequence[tuple[JournalEntry, str]], created_by: str
) -> dict[str, int]:
    """Entries (with their fingerprints) and their postings, in bulk: ids are taken up
    front (PostgreSQL: from the sequence; SQLite: see `_LAST_ENTRY_ID`), then the rows
    go to the driver (COPY on PostgreSQL: the multi-row INSERT ... RETURNING it replaces
    spent most of its time in psycopg converting placeholders, docs/performance.md)."""
    reversed_ids = _check_reversals(session, [entry for entry, _ in entries])
    account_ids = resolve_account_ids(
        session, {posting.account for entry, _ in entries for posting in entry.postings}
    )
    now = utcnow()
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        new_ids = sorted(
            connection.exec_driver_sql(_NEXT_ENTRY_IDS, {"count": len(entries)}).scalars()
        )
    elif dialect == "sqlite":
        last = int(connection.exec_driver_sql(_LAST_ENTRY_ID).scalar_one())
        new_ids = list(range(last + 1, last + 1 + len(entries)))
    else:
        return _insert_entries_core(session, entries, reversed_ids, account_ids, created_by)
    ids: dict[str, int] = {}
    rows: list[tuple[Any, ...]] = []
    postings: list[tuple[int, int, int]] = []
    for entry_id, (entry, fingerprint) in zip(new_ids, entries, strict=True):
        key = entry.idempotency_key
        ids[key] = entry_id
        rows.append(
            (entry_id, key, fingerprint, entry.booking_date, entry.reason_code,
             entry.explanation, entry.explanation_en, reversed_ids.get(key),
             _metadata_json(entry.metadata), created_by, now)
        )  # fmt: skip
        for posting in entry.postings:
            postings.append((entry_id, account_ids[posting.account], posting.amount_cents))
    insert_rows(connection, _JOURNAL_ENTRY, _ENTRY_COLUMNS, rows, converted=("metadata",))
    _insert_postings(connection, postings, _participant_accounts(account_ids))
    return ids


def _participant_accounts(account_ids: dict[AccountRef, int]) -> set[int]:
    """Ids of the participant accounts among the resolved ones: the accounts whose
    balances `ledger_account_balance` keeps (the ref says, no query)."""
    return {account_id for ref, account_id in account_ids.items() if ref.participant_id is not None}


def _metadata_json(metadata: tuple[tuple[str, str], ...]) -> str:
    """The metadata column's JSON text, as SQLAlchemy's JSON type writes it
    (`json.dumps(dict(metadata))`), built directly for the usual string pairs."""
    pairs = dict(metadata)
    try:
        return "{" + ", ".join([f"{_ascii(k)}: {_ascii(v)}" for k, v in pairs.items()]) + "}"
    except TypeError:  # a value that is not a str: json.dumps writes it its own way
        return json.dumps(pairs)


def _insert_entries_core(
    session: Session,
    entries: Sequence[tuple[JournalEntry, str]],
    reversed_ids: dict[str, int],
    account_ids: dict[AccountRef, int],
    created_by: str,
) -> dict[str, int]:
    """Other databases: SQLAlchemy Core, INSERT ... RETURNING per chunk."""
    now = utcnow()
    entry_rows = [
        {
            "idempotency_key": entry.idempotency_key,
            "fingerprint": fingerprint,
            "booking_date": entry.booking_date,
            "reason_code": entry.reason_code,
            "explanation": entry.explanation,
            "explanation_en": entry.explanation_en,
            "reverses_entry_id": reversed_ids.get(entry.idempotency_key),
            # Core inserts take column names: the column is "metadata".
            "metadata": dict(entry.metadata),
            "created_by": created_by,
            "created_at": now,
        }
        for entry, fingerprint in entries
    ]
    connection = session.connection()
    ids: dict[str, int] = {}
    for start in range(0, len(entry_rows), _CHUNK):
        result = connection.execute(
            insert(_JOURNAL_ENTRY).returning(_JOURNAL_ENTRY.c.id, _JOURNAL_ENTRY.c.idempotency_key),
            entry_rows[start : start + _CHUNK],
        )
        ids.update({key: entry_id for entry_id, key in result})
    _insert_postings(
        connection,
        [
            (ids[entry.idempotency_key], account_ids[posting.account], posting.amount_cents)
            for entry, _ in entries
            for posting in entry.postings
        ],
        _participant_accounts(account_ids),
    )
    return ids


_POSTING_COLUMNS = ("journal_entry_id", "account_id", "amount_cents")


def _insert_postings(
    connection: Connection, rows: list[tuple[int, int, int]], participant_accounts: set[int]
) -> None:
    """Postings are three integers: straight to the driver (PostgreSQL: COPY; SQLite:
    one executemany of a prepared statement), same transaction as everything else.
    Right after, in that transaction, the participant accounts' kept balances
    (`balances.add_postings`): they change exactly when postings are added."""
    insert_rows(connection, _POSTING, _POSTING_COLUMNS, rows)
    balances.add_postings(connection, rows, participant_accounts)


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
    """Raw (debit-positive) balances per account that has postings: summed in the
    database; a participant's from their kept balances (`ledger_account_balance`)."""
    if participant_id is None:
        query = select(PostingRecord.account_id, func.sum(PostingRecord.amount_cents)).group_by(
            PostingRecord.account_id
        )
    else:  # an account's rows (one per writer) added up
        query = (
            select(AccountBalance.account_id, func.sum(AccountBalance.balance_cents))
            .join(LedgerAccount, LedgerAccount.id == AccountBalance.account_id)
            .where(LedgerAccount.participant_id == participant_id)
            .group_by(AccountBalance.account_id)
            .having(func.sum(AccountBalance.postings_count) > 0)
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
