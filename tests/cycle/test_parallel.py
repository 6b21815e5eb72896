"""The cycle in more than one process (backend.cycle.parallel) decides and writes exactly
what one process does: the same entries, payments, alerts and caches; when a worker
dies before or after writing its chunk; when a participant's ledger changes between
the unlocked load and the locked write; when two such cycles start at once."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest
from sqlalchemy import create_engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from backend.access.roles import Role
from backend.access.users import create_user
from backend.cycle import CycleSummary, run_daily_cycle
from backend.cycle import service as cycle_service
from backend.cycle import snapshot as cycle_snapshot
from backend.db import make_engine, make_session_factory, transaction
from backend.errors import InvalidInput
from backend.ledger_store import check_ledger, post_entries
from backend.models import (
    Alert,
    CycleRun,
    CycleState,
    JournalEntryRecord,
    LedgerAccount,
    PaymentInstruction,
    PostingRecord,
    SelfPaymentConfirmation,
)
from backend.plans import store_plan_version
from rules import Plan
from tests.cycle.support import (
    PLAN_START,
    add_participants,
    give_plans,
    incomes_on,
    municipality,
    run_days,
)

Fresh = Callable[[], AbstractContextManager[sessionmaker[Session]]]
PAYDAY = dt.date(2026, 11, 25)  # the benefit arrives: reservations for December
LAST_DAY = dt.date(2026, 12, 2)  # rent and insurance paid on the 1st
PARTICIPANTS = 7
CHUNK = 2  # four chunks: both processes write several


def _people(session_factory: sessionmaker[Session]) -> dict[int, Plan]:
    with transaction(session_factory, write=True) as session:
        municipality(session)
        return give_plans(session, add_participants(session, PARTICIPANTS))


def _outcome(session_factory: sessionmaker[Session]) -> dict[str, Any]:
    """Everything the cycle decided, independent of the order it was written in (the
    ids of entries written by two processes interleave differently)."""
    with transaction(session_factory) as session:
        accounts = {
            account_id: (participant_id, kind, code)
            for account_id, participant_id, kind, code in session.execute(
                select(
                    LedgerAccount.id,
                    LedgerAccount.participant_id,
                    LedgerAccount.kind,
                    LedgerAccount.code,
                )
            )
        }
        postings: dict[int, list[tuple[Any, int]]] = {}
        for entry_id, account_id, amount in session.execute(
            select(
                PostingRecord.journal_entry_id, PostingRecord.account_id, PostingRecord.amount_cents
            )
        ):
            postings.setdefault(entry_id, []).append((accounts[account_id], amount))
        entries = {
            key: (booking_date, reason, sorted(postings[entry_id], key=repr))
            for entry_id, key, booking_date, reason in session.execute(
                select(
                    JournalEntryRecord.id,
                    JournalEntryRecord.idempotency_key,
                    JournalEntryRecord.booking_date,
                    JournalEntryRecord.reason_code,
                )
            )
        }
        payments = sorted(
            (
                row.end_to_end_id,
                row.participant_id,
                row.creditor_iban,
                row.amount_cents,
                row.due_date,
                row.requested_execution_date,
                row.status,
            )
            for row in session.scalars(select(PaymentInstruction))
        )
        alerts = sorted(session.scalars(select(Alert.dedup_key)))
        states = sorted(
            (row.participant_id, row.as_of, row.postings_folded, repr(row.open_items))
            for row in session.scalars(select(CycleState))
        )
        assert check_ledger(session) == []
    return {"entries": entries, "payments": payments, "alerts": alerts, "states": states}


def _month(session_factory: sessionmaker[Session], **options: object) -> dict[str, Any]:
    plans = _people(session_factory)
    late = {(pid, "uitkering", PAYDAY): PAYDAY + dt.timedelta(days=3) for pid in list(plans)[:2]}
    summaries = run_days(
        session_factory, plans, PLAN_START, LAST_DAY, chunk_size=CHUNK, late=late, **options
    )
    assert all(summary.ok for summary in summaries.values())
    outcome = _outcome(session_factory)
    # What the runs reported (their cycle_run rows): all of it, whoever wrote it.
    outcome["reported"] = (
        sum(summary.journal_entries_created for summary in summaries.values()),
        sum(summary.payment_instructions_created for summary in summaries.values()),
        sum(summary.payment_amount_cents for summary in summaries.values()),
    )
    return outcome


@pytest.fixture
def one_process(fresh_database: Fresh) -> Iterator[dict[str, Any]]:
    with fresh_database() as factory:
        yield _month(factory, workers=1)


def test_two_processes_decide_and_write_what_one_does(
    one_process: dict[str, Any], fresh_database: Fresh
) -> None:
    with fresh_database() as factory:
        assert _month(factory, workers=2) == one_process
        with transaction(factory) as session:
            runs = session.scalars(select(CycleRun)).all()
            assert {run.status for run in runs} == {"ok"}
    assert len(one_process["payments"]) > PARTICIPANTS * 4  # the month really paid


def test_the_summary_counts_both_processes(fresh_database: Fresh) -> None:
    rent_day = dt.date(2026, 11, 30)  # rent and health insurance due Tue 1 Dec are paid
    with fresh_database() as factory:
        plans = _people(factory)
        run_days(factory, plans, PLAN_START, rent_day - dt.timedelta(days=1), chunk_size=CHUNK)
        summary = run_daily_cycle(factory, today=rent_day, chunk_size=CHUNK, workers=2)
        with transaction(factory) as session:
            paid = session.scalars(
                select(PaymentInstruction.amount_cents)
                .join(
                    JournalEntryRecord, JournalEntryRecord.id == PaymentInstruction.payable_entry_id
                )
                .where(JournalEntryRecord.booking_date == rent_day)
            ).all()
            made = session.scalars(
                select(JournalEntryRecord.id).where(JournalEntryRecord.booking_date == rent_day)
            ).all()
    assert summary.workers == 2 and summary.chunks == 4
    assert summary.participants_evaluated == PARTICIPANTS
    # Rent, health insurance and Monday's living money.
    assert summary.payment_instructions_created == len(paid) == PARTICIPANTS * 3
    assert summary.payment_amount_cents == sum(paid)
    assert summary.journal_entries_created == len(made)


@pytest.mark.parametrize("dies", ["before_writing", "after_writing"])
def test_a_worker_that_dies_leaves_nothing_undone_and_nothing_twice(
    dies: str,
    one_process: dict[str, Any],
    fresh_database: Fresh,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each day's child writes and reports its first chunk, then dies on its second:
    before writing it, or after committing it without reporting it."""
    parent = os.getpid()
    original = cycle_service.process_chunk_prepared
    calls: dict[int, int] = {}

    def dying(*args: Any, **kwargs: Any) -> None:
        pid = os.getpid()
        calls[pid] = calls.get(pid, 0) + 1  # a child starts from its own pid: at 0
        second = pid != parent and calls[pid] == 2
        if second and dies == "before_writing":
            os._exit(9)
        original(*args, **kwargs)
        if second:  # written and committed, but never reported
            os._exit(9)

    with fresh_database() as factory:
        monkeypatch.setattr(cycle_service, "process_chunk_prepared", dying)
        outcome = _month(factory, workers=2)
    reported, expected = outcome.pop("reported"), dict(one_process).pop("reported")
    assert outcome == {key: value for key, value in one_process.items() if key != "reported"}
    if dies == "before_writing":
        assert reported == expected  # the chunk the child reported counts
    else:  # the committed, unreported chunk: in the ledger, not in the run's counts
        assert all(got <= want for got, want in zip(reported, expected, strict=True))
        assert reported != expected


def test_a_change_between_load_and_write_is_evaluated_again(
    fresh_database: Fresh, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The benefit of one participant is booked while the cycle evaluates their chunk
    without the lock. The write sees it and decides again, as if it came before."""

    def until_payday(factory: sessionmaker[Session]) -> tuple[dict[int, Plan], list[Any]]:
        plans = _people(factory)
        first = min(plans)
        late = {(first, "uitkering", PAYDAY): None}
        run_days(
            factory, plans, PLAN_START, PAYDAY - dt.timedelta(days=1), chunk_size=CHUNK, late=late
        )
        with transaction(factory, write=True) as session:
            post_entries(session, incomes_on(plans, PAYDAY, late=late), created_by="bank-import")
        benefit = [
            e for e in incomes_on(plans, PAYDAY) if f":{first}:uitkering:" in e.idempotency_key
        ]
        assert len(benefit) == 1
        return plans, benefit

    def book(factory: sessionmaker[Session], entries: list[Any]) -> None:
        with transaction(factory, write=True) as session:
            post_entries(session, entries, created_by="bank-import")

    # Reference: the benefit arrives before the cycle runs.
    with fresh_database() as factory:
        _, benefit = until_payday(factory)
        book(factory, benefit)
        run_daily_cycle(factory, today=PAYDAY, chunk_size=CHUNK, workers=1)
        before = _outcome(factory)

    def booked_while_evaluating(check: Callable[..., set[int]] | None) -> dict[str, Any]:
        with fresh_database() as factory:
            plans, benefit = until_payday(factory)
            evaluate = cycle_service._evaluate

            def evaluate_then_book(*args: Any, **kwargs: Any) -> Any:
                decided = evaluate(*args, **kwargs)
                if benefit:
                    book(factory, [benefit.pop()])
                return decided

            monkeypatch.setattr(cycle_service, "_evaluate", evaluate_then_book)
            if check is not None:
                monkeypatch.setattr(cycle_snapshot, "changed_since", check)
            summary = CycleSummary(run_id=0, run_date=PAYDAY)
            with transaction(factory) as session:
                debtor = cycle_service._debtor_iban(session, None)
            participants = sorted(plans)
            cycle_service.process_chunk_prepared(
                factory,
                participants[:CHUNK],
                today=PAYDAY,
                debtor_iban=debtor,
                accounts=cycle_service.loading.AccountCache(),
                summary=summary,
                rebuild_state=False,
            )
            # The others as usual (not the first chunk again: that would see the benefit).
            run_daily_cycle(
                factory, today=PAYDAY, chunk_size=CHUNK, participant_ids=participants[CHUNK:]
            )
            monkeypatch.undo()
            outcome = _outcome(factory)
            outcome["stale"] = summary.stale_reevaluated
            return outcome

    checked = booked_while_evaluating(None)
    assert checked.pop("stale") == 1
    assert checked == before
    # Without the check the chunk would be written on the old snapshot: this test sees it.
    unchecked = booked_while_evaluating(lambda *args, **kwargs: set())
    assert unchecked.pop("stale") == 0
    assert unchecked != before


def _cycle_in_process(url: str, day: dt.date, results: Any) -> None:
    engine = make_engine(url)
    try:
        summary = run_daily_cycle(
            make_session_factory(engine), today=day, chunk_size=CHUNK, workers=2
        )
        results.put(
            (summary.journal_entries_created, summary.payment_instructions_created, summary.ok)
        )
    finally:
        engine.dispose()


def test_two_cycles_of_two_processes_started_at_once_have_one_effect(
    database_url: str, session_factory: sessionmaker[Session]
) -> None:
    plans = _people(session_factory)
    run_days(session_factory, plans, PLAN_START, dt.date(2026, 11, 29), chunk_size=CHUNK)
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    cycles = [
        context.Process(
            target=_cycle_in_process, args=(database_url, dt.date(2026, 11, 30), results)
        )
        for _ in range(2)
    ]
    for cycle in cycles:
        cycle.start()
    for cycle in cycles:
        cycle.join(timeout=180)
        assert cycle.exitcode == 0
    entries, payments, ok = zip(*(results.get(timeout=5) for _ in cycles), strict=True)
    assert all(ok)
    with transaction(session_factory) as session:
        made = session.scalars(
            select(JournalEntryRecord.id).where(
                JournalEntryRecord.booking_date == dt.date(2026, 11, 30)
            )
        ).all()
        paid = Counter(
            (row.participant_id, row.creditor_iban, row.due_date)
            for row in session.scalars(select(PaymentInstruction))
        )
        assert check_ledger(session) == []
    assert sum(entries) == len(made) > 0
    assert max(paid.values()) == 1
    # Rent, health insurance (due 1 December) and Monday's living money, once each.
    assert sum(payments) == PARTICIPANTS * 3


def test_wrong_worker_counts_are_refused_before_anything_is_written(
    session_factory: sessionmaker[Session],
) -> None:
    _people(session_factory)
    for workers in (0, 9):
        with pytest.raises(InvalidInput, match=f"workers must be 1 to 8, not {workers}"):
            run_daily_cycle(session_factory, today=PLAN_START, workers=workers)
    memory = make_session_factory(create_engine("sqlite://"))
    with pytest.raises(InvalidInput, match="another process can open"):
        run_daily_cycle(memory, today=PLAN_START, workers=2)
    with transaction(session_factory) as session:
        assert session.scalars(select(CycleRun)).all() == []
        assert session.scalars(select(JournalEntryRecord.id)).all() != []  # the advances only
        assert session.scalars(select(PaymentInstruction.id)).all() == []


def test_the_check_names_exactly_the_participants_whose_inputs_changed(
    session_factory: sessionmaker[Session],
) -> None:
    """Each input the cycle loads, changed for one participant after the snapshot,
    names that participant and nobody else; an unchanged chunk names nobody."""
    plans = _people(session_factory)
    run_days(session_factory, plans, PLAN_START, PAYDAY - dt.timedelta(days=1), chunk_size=CHUNK)
    booked, new_plan, confirmed, cached, untouched = sorted(plans)[:5]
    with transaction(session_factory) as session:
        seen = cycle_snapshot.inputs_seen(session, sorted(plans))
        assert cycle_snapshot.changed_since(session, seen, sorted(plans)) == set()
    with transaction(session_factory, write=True) as session:
        post_entries(
            session,
            [e for e in incomes_on(plans, PAYDAY) if f":{booked}:uitkering:" in e.idempotency_key],
            created_by="bank-import",
        )
        body = plans[new_plan].model_dump(mode="json")
        body.update(version=2, effective_from=PAYDAY.isoformat())
        store_plan_version(session, Plan.model_validate(body), created_by="test", source="test")
        user = create_user(
            session,
            username="fenna",
            display_name="Fenna",
            roles=[Role.CASEWORKER],
            password_hash=None,
            external_subject="oidc-fenna",
        )
        session.add(
            SelfPaymentConfirmation(
                participant_id=confirmed,
                agreement_id="huur",
                due_date=dt.date(2026, 12, 1),
                confirmed_by=user.id,
                confirmed_party="caseworker",
            )
        )
        session.execute(
            update(CycleState)
            .where(CycleState.participant_id == cached)
            .values(as_of=PAYDAY)  # as a second cycle for the same chunk leaves it
        )
    with transaction(session_factory) as session:
        assert cycle_snapshot.changed_since(session, seen, sorted(plans)) == {
            booked,
            new_plan,
            confirmed,
            cached,
        }
        assert cycle_snapshot.changed_since(session, seen, [untouched]) == set()


def test_a_commit_with_a_lower_id_after_the_snapshot_is_seen(
    database_url: str, session_factory: sessionmaker[Session]
) -> None:
    """PostgreSQL hands out ids at insert time: a booking that started before the
    snapshot and commits after it has a lower id than one the snapshot saw. The
    re-check counts, so it still names that participant."""
    if not database_url.startswith("postgresql"):
        pytest.skip("on SQLite one writer at a time: ids follow commit order")
    plans = _people(session_factory)
    late, early = sorted(plans)[:2]
    benefit = {
        pid: [e for e in incomes_on(plans, PAYDAY) if f":{pid}:uitkering:" in e.idempotency_key]
        for pid in (late, early)
    }
    slow = session_factory()
    try:
        post_entries(slow, benefit[late], created_by="bank-import")  # the lower id, open
        with transaction(session_factory, write=True) as session:
            post_entries(session, benefit[early], created_by="bank-import")  # a higher id
        with cycle_service._snapshot(session_factory) as session:
            seen = cycle_snapshot.inputs_seen(session, sorted(plans))
        slow.commit()
    finally:
        slow.close()
    with cycle_service._locked(session_factory) as session:
        assert cycle_snapshot.changed_since(session, seen, sorted(plans)) == {late}
