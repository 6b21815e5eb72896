"""The one write path for journal entries, against SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from backend.config import Settings
from backend.errors import Conflict, IdempotencyConflict, InvalidInput
from backend.ledger_store import account_balances, check_ledger, post_entries, post_entry
from backend.models import JournalEntryRecord, PostingRecord
from backend.municipality.service import add_bank_account, ensure_system_accounts
from backend.participants.service import create_household, create_participant
from ledger import (
    AccountKind,
    AccountRef,
    JournalEntry,
    LedgerError,
    Posting,
    check_balances,
    fold_balances,
    reverse,
)
from tests.conftest import append_only_guard_dropped

IBAN = "NL84BNGH0285050123"
BANK = AccountRef.bank(IBAN)
DAY = dt.date(2026, 11, 25)
VALID_BSNS = ("111222333", "123456782", "100000009")


def _setup(session: Session, settings: Settings, participants: int = 2) -> list[int]:
    add_bank_account(session, iban=IBAN, name="Budgetbeheer")
    ensure_system_accounts(session)
    household = create_household(session, name="Test")
    ids = [
        create_participant(
            session,
            settings.field_cipher(),
            household_id=household.id,
            display_name=f"Deelnemer {index}",
            bsn=VALID_BSNS[index],
            own_iban=None,
            started_on=DAY,
        ).id
        for index in range(participants)
    ]
    session.commit()
    return ids


def _income(participant_id: int, key: str, cents: int) -> JournalEntry:
    return JournalEntry(
        idempotency_key=key,
        booking_date=DAY,
        reason_code="income.matched",
        explanation="Uitkering november",
        postings=(
            Posting(BANK, cents),
            Posting(AccountRef.of_participant(participant_id, AccountKind.AVAILABLE), -cents),
        ),
    )


def _counts(session: Session) -> tuple[int, int]:
    return (
        session.scalar(select(func.count(JournalEntryRecord.id))) or 0,
        session.scalar(select(func.count(PostingRecord.id))) or 0,
    )


def test_replay_returns_the_stored_entry_and_posts_nothing(
    session: Session, settings: Settings
) -> None:
    (anna, _) = _setup(session, settings)
    first = post_entry(session, _income(anna, "import:ref-1", 131248), created_by="test")
    session.commit()
    again = post_entry(session, _income(anna, "import:ref-1", 131248), created_by="test")
    session.commit()
    assert first.created and not again.created
    assert first.entry_id == again.entry_id
    assert _counts(session) == (1, 2)


def test_same_key_with_other_content_is_refused_and_nothing_changes(
    session: Session, settings: Settings
) -> None:
    (anna, _) = _setup(session, settings)
    post_entry(session, _income(anna, "import:ref-1", 131248), created_by="test")
    session.commit()
    with pytest.raises(IdempotencyConflict, match="already used for a different movement"):
        post_entry(session, _income(anna, "import:ref-1", 131249), created_by="test")
    session.rollback()
    assert _counts(session) == (1, 2)


def test_unknown_participant_account_is_refused_without_writing(
    session: Session, settings: Settings
) -> None:
    _setup(session, settings)
    with pytest.raises(InvalidInput, match="participant 999 does not exist"):
        post_entry(session, _income(999, "import:x", 100), created_by="test")
    session.rollback()
    assert _counts(session) == (0, 0)


def test_a_batch_with_one_bad_entry_writes_nothing(session: Session, settings: Settings) -> None:
    (anna, _) = _setup(session, settings)
    good = _income(anna, "import:good", 100)
    with pytest.raises(InvalidInput):
        post_entries(session, [good, _income(999, "import:bad", 100)], created_by="test")
    session.rollback()
    assert _counts(session) == (0, 0)


def test_reversal_must_undo_exactly_and_only_once(session: Session, settings: Settings) -> None:
    (anna, _) = _setup(session, settings)
    original = _income(anna, "import:ref-1", 5000)
    post_entry(session, original, created_by="test")
    correction = reverse(original, booking_date=DAY, explanation="Verkeerd toegewezen")
    post_entry(session, correction, created_by="test")
    session.commit()
    with pytest.raises(Conflict, match="already reversed"):
        post_entry(
            session,
            reverse(original, booking_date=DAY, explanation="nog eens", idempotency_key="r2"),
            created_by="test",
        )
    session.rollback()
    partial = JournalEntry(
        idempotency_key="r3",
        booking_date=DAY,
        reason_code="x.reversal",
        explanation="half terug",
        postings=(
            Posting(BANK, -100),
            Posting(AccountRef.of_participant(anna, AccountKind.AVAILABLE), 100),
        ),
        reverses_key="import:ref-1",
    )
    with pytest.raises((InvalidInput, Conflict)):
        post_entry(session, partial, created_by="test")
    session.rollback()
    assert _counts(session) == (2, 4)
    assert all(value == 0 for value in account_balances(session).values())


def test_database_refuses_update_and_delete_of_the_ledger(
    session: Session, settings: Settings
) -> None:
    (anna, _) = _setup(session, settings)
    post_entry(session, _income(anna, "import:ref-1", 5000), created_by="test")
    session.commit()
    for statement in (
        "UPDATE posting SET amount_cents = 1",
        "DELETE FROM posting",
        "UPDATE journal_entry SET explanation = 'anders'",
        "DELETE FROM journal_entry",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            session.execute(text(statement))
        session.rollback()
    assert _counts(session) == (1, 2)


def test_tampering_is_found_by_the_ledger_check(session: Session, settings: Settings) -> None:
    (anna, _) = _setup(session, settings)
    post_entry(session, _income(anna, "import:ref-1", 5000), created_by="test")
    post_entry(session, _income(anna, "import:ref-2", 7000), created_by="test")
    session.commit()
    assert check_ledger(session) == []
    session.close()
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    with append_only_guard_dropped(engine), engine.begin() as connection:
        connection.execute(text("UPDATE posting SET amount_cents = 6999 WHERE amount_cents = 7000"))
    violations = check_ledger(session)
    assert {v.entry_key for v in violations if v.entry_key} == {"import:ref-2"}
    assert any(v.code == "ledger.unbalanced" for v in violations)


KEYS = st.sampled_from([f"key-{index}" for index in range(8)])


@st.composite
def operations(draw: st.DrawFn) -> list[tuple[str, str, int, int]]:
    """(operation, key, participant index, cents): post, replay-with-other-content, reverse."""
    return draw(
        st.lists(
            st.tuples(
                st.sampled_from(["post", "post", "conflict", "reverse", "invalid"]),
                KEYS,
                st.integers(min_value=0, max_value=1),
                st.integers(min_value=1, max_value=200_000),
            ),
            min_size=1,
            max_size=25,
        )
    )


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(ops=operations())
def test_random_sequences_never_double_post_or_unbalance(
    ops: list[tuple[str, str, int, int]],
    settings: Settings,
    fresh_database: Callable[[], AbstractContextManager[sessionmaker[Session]]],
) -> None:
    with fresh_database() as session_factory:
        _run_operations(ops, session_factory, settings)


def _run_operations(
    ops: list[tuple[str, str, int, int]],
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    with session_factory() as session:
        participants = _setup(session, settings)
    accepted: dict[str, JournalEntry] = {}
    for operation, key, who, cents in ops:
        entry = _income(participants[who], key, cents)
        with session_factory() as session:
            before = _counts(session)
            try:
                if operation == "invalid":
                    entry = JournalEntry(
                        key, DAY, "x", "ongeldig", (Posting(BANK, cents), Posting(BANK, 1))
                    )
                elif operation == "reverse" and key in accepted:
                    entry = reverse(accepted[key], booking_date=DAY, explanation="Correctie")
                elif operation == "conflict" and key in accepted:
                    entry = _income(participants[who], key, accepted[key].amount_cents() + 1)
                result = post_entry(session, entry, created_by="test")
                session.commit()
                accepted.setdefault(entry.idempotency_key, entry)
                if entry.idempotency_key in accepted and not result.created:
                    assert _counts(session) == before
            except (LedgerError, InvalidInput, Conflict):
                session.rollback()
                assert _counts(session) == before
    with session_factory() as session:
        stored = account_balances(session)
        assert stored == {k: v for k, v in fold_balances(accepted.values()).items() if k in stored}
        assert check_balances(stored) == []
        assert check_ledger(session) == []
        assert _counts(session)[0] == len(accepted)


def test_metadata_is_stored_and_survives_the_ledger_check(
    session: Session, settings: Settings
) -> None:
    (anna, _) = _setup(session, settings)
    entry = JournalEntry(
        idempotency_key="rules:1:fixed_cost.reserve:rent:2026-12-01",
        booking_date=DAY,
        reason_code="fixed_cost.reserve",
        explanation="Geld apart gezet voor de huur van december",
        postings=(
            Posting(BANK, 100),
            Posting(AccountRef.of_participant(anna, AccountKind.AVAILABLE), -100),
        ),
        metadata=(("agreement_id", "rent"), ("due_date", "2026-12-01")),
    )
    post_entry(session, entry, created_by="test")
    session.commit()
    stored = session.scalar(select(JournalEntryRecord.entry_metadata))
    assert stored == {"agreement_id": "rent", "due_date": "2026-12-01"}
    assert check_ledger(session) == []
