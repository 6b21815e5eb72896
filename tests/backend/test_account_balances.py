"""Kept per-account balances (`ledger_account_balance`), against SQLite and PostgreSQL.

The daily cycle decides on these rows instead of summing every posting, so they must
always equal the sums and counts of the postings: after any sequence of writes
(replays, conflicts, reversals, batches, a rolled-back savepoint), after the
migration's backfill, and reconciliation must report a row that does not.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter, defaultdict
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import Engine, case, func, inspect, literal, select, text
from sqlalchemy.orm import Session, sessionmaker

from backend.cli import main
from backend.config import Settings, get_settings
from backend.cycle import loading
from backend.cycle import service as cycle_service
from backend.db import make_session_factory
from backend.errors import Conflict, IdempotencyConflict, InvalidInput
from backend.ledger_store import account_balances, check_ledger, post_entries, post_entry
from backend.ledger_store.balances import balance_mismatches
from backend.migrate import alembic_config, upgrade
from backend.models import AccountBalance, Base, CycleState, LedgerAccount, PostingRecord
from backend.payments.reconcile import reconcile
from ledger import AccountKind, AccountRef, JournalEntry, Posting, reverse
from tests.backend.test_ledger_store import BANK, DAY, _income, _setup

PARTICIPANT_KINDS = (
    AccountKind.AVAILABLE,
    AccountKind.RESERVED,
    AccountKind.BUFFER,
    AccountKind.PAYABLE,
    AccountKind.SAVINGS,
)
SYSTEM_ACCOUNTS = (BANK, AccountRef.suspense(), AccountRef.in_transit())


def _table(session: Session) -> dict[int, tuple[int, int]]:
    """(balance, count) per account: its rows (one per writer) added up."""
    found: dict[int, tuple[int, int]] = {}
    for account_id, total, count in session.execute(
        select(
            AccountBalance.account_id,
            AccountBalance.balance_cents,
            AccountBalance.postings_count,
        )
    ):
        before = found.get(account_id, (0, 0))
        found[account_id] = (before[0] + int(total), before[1] + int(count))
    return found


def _from_postings(session: Session) -> dict[int, tuple[int, int]]:
    """Sum and count of every participant account's postings, the slow way."""
    return {
        account_id: (int(total), int(count))
        for account_id, total, count in session.execute(
            select(
                PostingRecord.account_id,
                func.sum(PostingRecord.amount_cents),
                func.count(PostingRecord.id),
            )
            .join(LedgerAccount, LedgerAccount.id == PostingRecord.account_id)
            .where(LedgerAccount.participant_id.is_not(None))
            .group_by(PostingRecord.account_id)
        )
    }


def _account_ids(session: Session) -> dict[str, int]:
    return dict(session.execute(select(LedgerAccount.code, LedgerAccount.id)).all())


def _random_entry(rng: random.Random, key: str, participants: list[int]) -> JournalEntry:
    """2 to 5 postings over participant and system accounts (an account may appear
    twice), summing to zero."""
    accounts = [
        AccountRef.of_participant(participant_id, kind)
        for participant_id in participants
        for kind in PARTICIPANT_KINDS
    ] + list(SYSTEM_ACCOUNTS)
    chosen = [rng.choice(accounts) for _ in range(rng.randint(1, 4))]
    amounts = [rng.choice((-1, 1)) * rng.randint(1, 90_000) for _ in chosen]
    if sum(amounts) == 0:
        amounts[0] += 1
    postings = [Posting(account, amount) for account, amount in zip(chosen, amounts, strict=True)]
    postings.append(Posting(rng.choice(accounts), -sum(amounts)))
    return JournalEntry(
        idempotency_key=key,
        booking_date=DAY,
        reason_code="test.random",
        explanation="Willekeurige boeking",
        postings=tuple(postings),
    )


def _expected(entries: list[JournalEntry], codes: dict[str, int]) -> dict[int, tuple[int, int]]:
    """What the table must hold for the entries that were stored, computed in Python."""
    totals: dict[int, int] = defaultdict(int)
    counts: Counter[int] = Counter()
    for entry in entries:
        for posting in entry.postings:
            if posting.account.participant_id is None:
                continue
            account_id = codes[posting.account.label()]
            totals[account_id] += posting.amount_cents
            counts[account_id] += 1
    return {account_id: (totals[account_id], counts[account_id]) for account_id in counts}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_writes_keep_the_table_equal_to_the_postings(
    session_factory: sessionmaker[Session], settings: Settings, seed: int
) -> None:
    rng = random.Random(seed)
    with session_factory() as session:
        participants = _setup(session, settings, participants=3)
    stored: list[JournalEntry] = []
    reversed_keys: set[str] = set()
    counter = iter(range(1_000_000))
    for _ in range(60):
        operation = rng.choice(
            ["post", "post", "batch", "replay", "conflict", "reverse", "savepoint", "bad_batch"]
        )
        with session_factory() as session:
            if operation == "post":
                entry = _random_entry(rng, f"k{next(counter)}", participants)
                assert post_entry(session, entry, created_by="test").created
                stored.append(entry)
            elif operation == "batch":
                batch = [
                    _random_entry(rng, f"k{next(counter)}", participants)
                    for _ in range(rng.randint(2, 6))
                ]
                # Some already stored: replays inside a batch must not count again.
                replays = rng.sample(stored, min(len(stored), 2))
                results = post_entries(session, [*batch, *replays], created_by="test")
                assert [r.created for r in results] == [True] * len(batch) + [False] * len(replays)
                stored.extend(batch)
            elif operation == "replay" and stored:
                assert not post_entry(session, rng.choice(stored), created_by="test").created
            elif operation == "conflict" and stored:
                original = rng.choice(stored)
                other = _random_entry(rng, original.idempotency_key, participants)
                with pytest.raises(IdempotencyConflict):
                    post_entry(session, other, created_by="test")
                session.rollback()
            elif operation == "reverse":
                candidates = [
                    entry
                    for entry in stored
                    if entry.idempotency_key not in reversed_keys and entry.reverses_key is None
                ]
                if candidates:
                    original = rng.choice(candidates)
                    correction = reverse(original, booking_date=DAY, explanation="Correctie")
                    post_entry(session, correction, created_by="test")
                    session.commit()
                    stored.append(correction)
                    reversed_keys.add(original.idempotency_key)
                    # A second reversal of the same entry is refused and changes nothing.
                    with pytest.raises(Conflict):
                        post_entry(
                            session,
                            reverse(
                                original,
                                booking_date=DAY,
                                explanation="nog eens",
                                idempotency_key=f"again{next(counter)}",
                            ),
                            created_by="test",
                        )
                    session.rollback()
            elif operation == "savepoint":
                lost = _random_entry(rng, f"k{next(counter)}", participants)
                kept = _random_entry(rng, f"k{next(counter)}", participants)
                with pytest.raises(RuntimeError), session.begin_nested():
                    assert post_entry(session, lost, created_by="test").created
                    raise RuntimeError("the caller's next step fails")
                post_entry(session, kept, created_by="test")
                stored.append(kept)
            elif operation == "bad_batch":
                good = _random_entry(rng, f"k{next(counter)}", participants)
                with pytest.raises(InvalidInput):
                    post_entries(session, [good, _income(999, "bad", 100)], created_by="test")
                session.rollback()
            session.commit()
    with session_factory() as session:
        table = _table(session)
        assert table == _expected(stored, _account_ids(session))
        assert table == _from_postings(session)
        assert balance_mismatches(session, limit=10) == []
        # Random entries may leave holdings below zero; every entry is stored intact.
        assert [v for v in check_ledger(session) if v.entry_key] == []
        # No row for a system account: those would be hot rows for every writer.
        system_ids = set(
            session.scalars(select(LedgerAccount.id).where(LedgerAccount.participant_id.is_(None)))
        )
        assert system_ids and not system_ids & set(table)
        # A participant's balances as the pages read them: the rows, same as summing.
        for participant_id in participants:
            summed = {
                ref: total
                for ref, total in account_balances(session).items()
                if ref.participant_id == participant_id
            }
            assert account_balances(session, participant_id=participant_id) == summed


def _old_holdings_and_counts(
    session: Session, participant_ids: list[int]
) -> dict[int, loading.ParticipantLedger]:
    """The query `holdings_and_counts` used before the kept balances: every posting."""
    found: dict[int, loading.ParticipantLedger] = defaultdict(loading.ParticipantLedger)
    through = func.coalesce(CycleState.through_entry_id, literal(0))
    for participant_id, kind, total, count, count_through in session.execute(
        select(
            LedgerAccount.participant_id,
            LedgerAccount.kind,
            func.sum(PostingRecord.amount_cents),
            func.count(PostingRecord.id),
            func.sum(case((PostingRecord.journal_entry_id <= through, 1), else_=0)),
        )
        .join(PostingRecord, PostingRecord.account_id == LedgerAccount.id)
        .outerjoin(CycleState, CycleState.participant_id == LedgerAccount.participant_id)
        .where(LedgerAccount.participant_id.in_(participant_ids))
        .group_by(LedgerAccount.participant_id, LedgerAccount.kind)
    ):
        ledger = found[participant_id]
        ledger.raw_balances[AccountRef.of_participant(participant_id, AccountKind(kind))] = int(
            total
        )
        ledger.postings_total += int(count)
        ledger.postings_through_state += int(count_through or 0)
    return dict(found)


def test_holdings_and_counts_read_from_the_table_match_summing_every_posting(
    session: Session, settings: Settings
) -> None:
    rng = random.Random(7)
    participants = _setup(session, settings, participants=3)
    quiet = _setup_extra_participant(session, settings)
    entries = [_random_entry(rng, f"k{index}", participants) for index in range(40)]
    ids = [posted.entry_id for posted in post_entries(session, entries, created_by="test")]
    # participant 0: state in the middle of the history; 1: state through entry 0;
    # 2: no state; `quiet`: a state but no postings at all.
    for participant_id, through in (
        (participants[0], ids[len(ids) // 2]),
        (participants[1], 0),
        (quiet, ids[-1]),
    ):
        session.add(
            CycleState(
                participant_id=participant_id,
                as_of=DAY,
                through_entry_id=through,
                postings_folded=0,
                open_items={},
            )
        )
    session.flush()
    everyone = [*participants, quiet]
    new = loading.holdings_and_counts(session, everyone)
    old = _old_holdings_and_counts(session, everyone)
    assert new == old
    assert quiet not in new
    assert 0 < new[participants[0]].postings_through_state < new[participants[0]].postings_total
    assert new[participants[1]].postings_through_state == 0
    assert new[participants[2]].postings_through_state == 0


def _setup_extra_participant(session: Session, settings: Settings) -> int:
    from backend.participants.service import create_household, create_participant

    household = create_household(session, name="Stil")
    participant = create_participant(
        session,
        settings.field_cipher(),
        household_id=household.id,
        display_name="Zonder boekingen",
        bsn="999999990",
        own_iban=None,
        started_on=DAY,
    )
    session.flush()
    return participant.id


def test_reconcile_reports_a_tampered_balance_row_and_the_rebuild_repairs_it(
    session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    (anna, bert) = _setup(session, settings)
    post_entry(session, _income(anna, "import:1", 5000), created_by="test")
    post_entry(session, _income(bert, "import:2", 7000), created_by="test")
    post_entry(session, _income(bert, "import:3", 300), created_by="test")
    session.commit()
    assert reconcile(session).ok
    codes = _account_ids(session)
    anna_available = codes[AccountRef.of_participant(anna, AccountKind.AVAILABLE).label()]
    bert_available = codes[AccountRef.of_participant(bert, AccountKind.AVAILABLE).label()]
    session.execute(
        text(
            "UPDATE ledger_account_balance SET balance_cents = balance_cents - 100 "
            "WHERE account_id = :id"
        ),
        {"id": anna_available},
    )
    session.execute(
        text(
            "UPDATE ledger_account_balance SET postings_count = postings_count + 1 "
            "WHERE account_id = :id"
        ),
        {"id": bert_available},
    )
    session.commit()
    report = reconcile(session)
    assert not report.ok
    (difference,) = [d for d in report.differences if d.check == "kept_balances_vs_postings"]
    assert [d.check for d in report.differences] == ["kept_balances_vs_postings"]
    assert {item["account_id"] for item in difference.accounts} == {
        anna_available,
        bert_available,
    }
    anna_item = next(item for item in difference.accounts if item["account_id"] == anna_available)
    assert anna_item["stored_balance_cents"] == -5100
    assert anna_item["postings_balance_cents"] == -5000
    assert difference.difference_cents == -100
    assert f"participant:{anna}:available" in difference.message
    assert f"participant:{bert}:available" in difference.message
    # Also with --date, and a missing row is a difference too.
    session.execute(
        text("DELETE FROM ledger_account_balance WHERE account_id = :id"), {"id": bert_available}
    )
    session.commit()
    dated = reconcile(session, as_of=DAY + dt.timedelta(days=1))
    (missing,) = [d for d in dated.differences if d.check == "kept_balances_vs_postings"]
    bert_item = next(item for item in missing.accounts if item["account_id"] == bert_available)
    assert bert_item["row_missing"] and bert_item["postings_count"] == 2
    # The repair: recomputed from the postings, which stay as they were.
    postings_before = session.execute(
        select(PostingRecord.id, PostingRecord.amount_cents).order_by(PostingRecord.id)
    ).all()
    monkeypatch.setenv("HUISHOUDBOEKJE_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    result = CliRunner().invoke(main, ["ledger", "rebuild-balances"])
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "2 account(s) differed from their postings; all match now" in result.output
    session.rollback()
    assert reconcile(session).ok
    assert account_balances(session, participant_id=anna) == {
        AccountRef.of_participant(anna, AccountKind.AVAILABLE): -5000
    }
    assert (
        session.execute(
            select(PostingRecord.id, PostingRecord.amount_cents).order_by(PostingRecord.id)
        ).all()
        == postings_before
    )


def test_models_match_migration(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_as_batch": True}
        )
        diffs = compare_metadata(context, Base.metadata)
    assert [diff for diff in diffs if "ledger_account_balance" in repr(diff)] == []


def test_migration_backfills_what_the_write_path_keeps(
    database_url: str, engine: Engine, settings: Settings
) -> None:
    factory = make_session_factory(engine)
    rng = random.Random(11)
    with factory() as session:
        participants = _setup(session, settings, participants=3)
        entries = [_random_entry(rng, f"k{index}", participants) for index in range(30)]
        post_entries(session, entries, created_by="test")
        correction = reverse(entries[0], booking_date=DAY, explanation="Correctie")
        post_entry(session, correction, created_by="test")
        session.commit()
        kept = _table(session)
    assert kept
    engine.dispose()
    # Back to before the table existed (postings stay), then the migration again.
    command.downgrade(alembic_config(database_url), "0018_account_balances@-1")
    with engine.connect() as connection:
        assert not _has_table(connection, "ledger_account_balance")
    upgrade(database_url)
    with factory() as session:
        assert _table(session) == kept == _from_postings(session)


def _has_table(connection: Any, name: str) -> bool:
    return bool(inspect(connection).has_table(name))


def test_no_row_until_an_account_has_postings(session: Session, settings: Settings) -> None:
    (anna, _) = _setup(session, settings)
    post_entry(session, _income(anna, "import:1", 5000), created_by="test")
    session.commit()
    codes = _account_ids(session)
    anna_available = codes[AccountRef.of_participant(anna, AccountKind.AVAILABLE).label()]
    assert _table(session) == {anna_available: (-5000, 1)}
    # A reversal brings the balance back to zero; the row stays, with both postings.
    post_entry(
        session,
        reverse(_income(anna, "import:1", 5000), booking_date=DAY, explanation="Correctie"),
        created_by="test",
    )
    session.commit()
    assert _table(session) == {anna_available: (0, 2)}
    assert account_balances(session, participant_id=anna) == {
        AccountRef.of_participant(anna, AccountKind.AVAILABLE): 0
    }


def test_the_cycle_and_a_concurrent_writer_add_to_the_same_account(
    engine: Engine, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    """PostgreSQL: the cycle writes in REPEATABLE READ (backend.cycle.service._locked).
    Updating a row another transaction changed after the snapshot is a serialization
    failure there; an import booking income for the same participant while a cycle
    chunk is written must not make the cycle's write fail."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: no concurrent commit to race")
    with session_factory() as session:
        (anna, _) = _setup(session, settings)
        post_entry(session, _income(anna, "import:0", 1000), created_by="test")
        session.commit()
    with cycle_service._locked(session_factory) as cycle:  # the cycle's own transaction
        cycle.execute(select(func.count(PostingRecord.id))).scalar_one()  # the snapshot
        with session_factory() as other:  # the import, READ COMMITTED, commits meanwhile
            post_entry(other, _income(anna, "import:1", 200), created_by="test")
            other.commit()
        post_entry(cycle, _income(anna, "cycle:1", 30), created_by="test")
    with session_factory() as session:
        available = AccountRef.of_participant(anna, AccountKind.AVAILABLE)
        assert account_balances(session, participant_id=anna) == {available: -1230}
        assert balance_mismatches(session, limit=10) == []
        # And the other way round: the import writes after the cycle's snapshot too.
    with cycle_service._locked(session_factory) as cycle:
        post_entry(cycle, _income(anna, "cycle:2", 4), created_by="test")
        with session_factory() as other:  # must not wait for the cycle's row lock
            other.execute(text("SET LOCAL lock_timeout = '5s'"))
            post_entry(other, _income(anna, "import:2", 5000), created_by="test")
            other.commit()
    with session_factory() as session:
        assert account_balances(session, participant_id=anna) == {available: -6234}
        assert balance_mismatches(session, limit=10) == []
        # Both writers' rows exist now, and every reader adds them up.
        assert session.scalar(select(func.count()).select_from(AccountBalance)) == 2
        ledger = loading.holdings_and_counts(session, [anna])[anna]
        assert (ledger.raw_balances, ledger.postings_total) == ({available: -6234}, 5)
