"""The bulk write path goes straight to the driver (backend.ledger_store.driver): what
it stores must read back exactly as what SQLAlchemy Core stores, and ids must belong
to the right entries. Against SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any, cast

import pytest
from sqlalchemy import Table, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.config import Settings
from backend.ledger_store import post_entries
from backend.ledger_store.driver import insert_rows, select_in
from backend.models import JournalEntryRecord, PostingRecord
from backend.models.base import utcnow
from ledger import AccountKind, AccountRef, JournalEntry, Posting, entry_fingerprint
from tests.backend.test_ledger_store import BANK, DAY, _setup

_TABLE = cast(Table, JournalEntryRecord.__table__)


def _entry(participant_id: int, key: str, cents: int, **extra: Any) -> JournalEntry:
    return JournalEntry(
        idempotency_key=key,
        booking_date=DAY,
        reason_code="income.matched",
        explanation='Uitkering "november" — € 12,50 \\ ok',
        explanation_en="Benefit",
        postings=(
            Posting(BANK, cents),
            Posting(AccountRef.of_participant(participant_id, AccountKind.AVAILABLE), -cents),
        ),
        **extra,
    )


def _stored(session: Session, key: str) -> tuple[Any, ...]:
    record = session.scalars(
        select(JournalEntryRecord)
        .where(JournalEntryRecord.idempotency_key == key)
        .execution_options(populate_existing=True)
    ).one()
    return (
        record.fingerprint,
        record.booking_date,
        record.reason_code,
        record.explanation,
        record.explanation_en,
        record.entry_metadata,
        record.created_by,
        record.created_at.tzinfo is not None,
    )


def test_entries_read_back_as_a_core_insert_stores_them(
    session: Session, settings: Settings
) -> None:
    (anna, _) = _setup(session, settings)
    metadata = (("agreement_id", "huur-ü"), ("due_date", "2026-12-01"), ("z", 'quo"te'))
    driven = _entry(anna, "driver:1", 1250, metadata=metadata)
    post_entries(session, [driven], created_by="test")
    # The same content through SQLAlchemy Core, under another key.
    core = _entry(anna, "core:1", 1250, metadata=metadata)
    session.execute(
        insert(_TABLE),
        [
            {
                "idempotency_key": core.idempotency_key,
                "fingerprint": entry_fingerprint(driven),
                "booking_date": core.booking_date,
                "reason_code": core.reason_code,
                "explanation": core.explanation,
                "explanation_en": core.explanation_en,
                "metadata": dict(core.metadata),
                "created_by": "test",
                "created_at": utcnow(),
            }
        ],
    )
    session.commit()
    assert _stored(session, "driver:1") == _stored(session, "core:1")
    assert _stored(session, "driver:1")[5] == dict(metadata)
    # The raw text too (SQLite stores dates and JSON as text).
    raw = {
        key: (booking_date, entry_metadata)
        for key, booking_date, entry_metadata in session.connection().exec_driver_sql(
            "SELECT idempotency_key, booking_date, metadata FROM journal_entry "
            "WHERE idempotency_key IN ('driver:1', 'core:1')"
        )
    }
    assert raw["driver:1"] == raw["core:1"]


def test_every_id_belongs_to_its_own_entry_across_calls(
    session: Session, settings: Settings
) -> None:
    (anna, bob) = _setup(session, settings)
    first = [_entry(anna if n % 2 else bob, f"k:{n}", 100 + n) for n in range(1, 1200)]
    posted = post_entries(session, first, created_by="test")
    again = post_entries(
        session, [_entry(anna, "k:new", 7), first[5], _entry(bob, "k:new2", 8)], created_by="test"
    )
    session.commit()
    ids = {item.entry.idempotency_key: item.entry_id for item in [*posted, *again]}
    assert len(set(ids.values())) == len(ids)  # every entry its own id
    assert [item.created for item in again] == [True, False, True]
    assert again[1].entry_id == posted[5].entry_id
    stored = dict(
        session.execute(select(JournalEntryRecord.idempotency_key, JournalEntryRecord.id)).all()
    )
    assert {key: stored[key] for key in ids} == ids
    # Each entry's postings carry its own amount, under its own id.
    amounts = dict(
        session.execute(
            select(PostingRecord.journal_entry_id, PostingRecord.amount_cents).where(
                PostingRecord.amount_cents > 0
            )
        ).all()
    )
    for entry in [*first, *(item.entry for item in again)]:
        assert amounts[ids[entry.idempotency_key]] == entry.postings[0].amount_cents


def test_a_constraint_violation_is_an_integrity_error_and_writes_nothing(
    session: Session, settings: Settings
) -> None:
    _setup(session, settings)
    connection = session.connection()
    columns = ("idempotency_key", "fingerprint", "booking_date", "reason_code", "explanation",
               "explanation_en", "metadata", "created_by", "created_at")  # fmt: skip
    row: tuple[Any, ...] = ("dup", "f" * 64, DAY, "r", "x", "", {}, "test", utcnow())
    with pytest.raises(IntegrityError), session.begin_nested():
        insert_rows(session.connection(), _TABLE, columns, [row, row])
    assert list(select_in(connection, "SELECT id FROM journal_entry WHERE idempotency_key {in}",
                          ["dup"])) == []  # fmt: skip


def test_select_in_finds_every_value_beyond_one_chunk(session: Session, settings: Settings) -> None:
    (anna, _) = _setup(session, settings)
    entries = [_entry(anna, f"many:{n}", 1 + n) for n in range(1234)]
    post_entries(session, entries, created_by="test")
    wanted = [f"many:{n}" for n in range(1234)] + ["absent"]
    found = {
        key
        for (key,) in select_in(
            session.connection(),
            "SELECT idempotency_key FROM journal_entry WHERE idempotency_key {in}",
            wanted,
        )
    }
    assert found == set(wanted) - {"absent"}
