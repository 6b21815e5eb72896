"""The cycle never pays twice: not after a crash, not when started twice at once, not
when a payment was cancelled; and one broken participant does not stop the others."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from backend.cycle import CycleSummary, loading, run_daily_cycle
from backend.cycle import service as cycle_service
from backend.db import transaction
from backend.ledger_store import check_ledger
from backend.models import Alert, CycleRun, CycleState, JournalEntryRecord, PlanVersionRecord
from backend.payments import (
    approve_batch,
    cancel_instruction,
    export_batch,
    prepare_batch,
    propose_batches,
    return_payment,
    settle_by_end_to_end_id,
)
from rules import OpenItems, OpenItemsBuilder, Plan
from tests.cycle.support import (
    ANNA_IBAN,
    MUNICIPAL_IBAN,
    PLAN_START,
    add_participants,
    give_plans,
    instructions,
    municipality,
    run_days,
)

MITROS_IBAN = "NL44RABO0123456789"
RENT_DAY = dt.date(2026, 11, 30)  # rent and health insurance due Tue 1 Dec are paid


class PowerCut(BaseException):
    """The process dies: nothing in the cycle catches this."""


def _people(session_factory: sessionmaker[Session], count: int) -> dict[int, Plan]:
    with transaction(session_factory, write=True) as session:
        municipality(session)
        return give_plans(session, add_participants(session, count))


def _payments_per_due_date(session: Session) -> Counter[tuple[int, str, dt.date | None]]:
    """How often each participant paid each creditor for each due date (must be once)."""
    return Counter(
        (instruction.participant_id, instruction.creditor_iban, instruction.due_date)
        for instruction in instructions(session)
    )


def test_a_crash_in_the_middle_never_pays_twice(
    session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    plans = _people(session_factory, 5)
    run_days(session_factory, plans, PLAN_START, RENT_DAY - dt.timedelta(days=1))
    # The second chunk dies after its entries and payments are written, before commit.
    original = cycle_service._save_states
    calls = {"count": 0}

    def crashing(*args: object, **kwargs: object) -> None:
        calls["count"] += 1
        original(*args, **kwargs)  # type: ignore[arg-type]
        if calls["count"] == 2:
            raise PowerCut

    monkeypatch.setattr(cycle_service, "_save_states", crashing)
    with pytest.raises(PowerCut):
        run_daily_cycle(session_factory, today=RENT_DAY, chunk_size=2)
    with transaction(session_factory) as session:
        paid = _payments_per_due_date(session)
        rent_paid = {pid for (pid, kind, due) in paid if due == dt.date(2026, 12, 1)}
        assert rent_paid == set(sorted(plans)[:2])  # only the first chunk committed
        run = session.scalar(select(CycleRun).order_by(CycleRun.id.desc()))
        assert run is not None and run.status == "failed"
    monkeypatch.setattr(cycle_service, "_save_states", original)
    again = run_daily_cycle(session_factory, today=RENT_DAY, chunk_size=2)
    assert again.ok
    # The first two were done; the last three are paid now (rent + insurance + Monday).
    assert again.payment_instructions_created == 3 * 3
    with transaction(session_factory) as session:
        paid = _payments_per_due_date(session)
        assert max(paid.values()) == 1
        rent_paid = {pid for (pid, kind, due) in paid if due == dt.date(2026, 12, 1)}
        assert rent_paid == set(plans)
        assert check_ledger(session) == []


def _insert_version(session: Session, participant_id: int, body: dict[str, object]) -> None:
    """A stored plan version that bypasses validation, as bad data would."""
    session.execute(
        insert(PlanVersionRecord),
        [
            {
                "participant_id": participant_id,
                "version": 2,
                "effective_from": RENT_DAY,
                "body": body,
                "source": "broken",
                "created_by": "test",
            }
        ],
    )


def test_a_broken_participant_is_reported_and_the_others_are_paid(
    session_factory: sessionmaker[Session],
) -> None:
    plans = _people(session_factory, 4)
    first, unreadable, unpayable, last = sorted(plans)
    run_days(session_factory, plans, PLAN_START, RENT_DAY - dt.timedelta(days=1))
    with transaction(session_factory, write=True) as session:
        # One plan no longer validates; another pays living money to an IBAN the bank
        # refuses, which only the payment instruction notices (the write fails).
        _insert_version(session, unreadable, {"participant_id": unreadable, "garbage": True})
        body = plans[unpayable].model_dump(mode="json")
        body.update(version=2, effective_from=RENT_DAY.isoformat())
        body["living_money"]["payee_iban"] = "NL00TEST0000000001"
        _insert_version(session, unpayable, body)
    summary = run_daily_cycle(session_factory, today=RENT_DAY)
    failed = {failure.participant_id: failure.error for failure in summary.failed_participants}
    assert set(failed) == {unreadable, unpayable}
    assert "ValidationError" in failed[unreadable]
    assert "IBAN" in failed[unpayable]
    assert summary.participants_evaluated == 2
    with transaction(session_factory) as session:
        rent_paid = {
            pid
            for (pid, kind, due) in _payments_per_due_date(session)
            if due == dt.date(2026, 12, 1)
        }
        assert rent_paid == {first, last}
        alerts = set(
            session.scalars(select(Alert.participant_id).where(Alert.kind == "cycle_failed"))
        )
        assert alerts == {unreadable, unpayable}
        run = session.get(CycleRun, summary.run_id)
        assert run is not None and run.status == "partial" and run.failed_count == 2
        assert check_ledger(session) == []
    # The same day again: the two still fail, nothing else happens, no second alert.
    again = run_daily_cycle(session_factory, today=RENT_DAY)
    assert {failure.participant_id for failure in again.failed_participants} == {
        unreadable,
        unpayable,
    }
    assert (again.journal_entries_created, again.alerts_raised) == (0, 0)


def test_two_cycles_started_at_once_have_one_effect(
    session_factory: sessionmaker[Session],
) -> None:
    plans = _people(session_factory, 6)
    run_days(session_factory, plans, PLAN_START, RENT_DAY - dt.timedelta(days=1))
    start = threading.Barrier(2)
    results: list[CycleSummary] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            start.wait()
            results.append(run_daily_cycle(session_factory, today=RENT_DAY, chunk_size=2))
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert len(results) == 2 and all(result.ok for result in results)
    with transaction(session_factory) as session:
        made_today = session.scalars(
            select(JournalEntryRecord.id).where(JournalEntryRecord.booking_date == RENT_DAY)
        ).all()
        assert sum(result.journal_entries_created for result in results) == len(made_today)
        paid = _payments_per_due_date(session)
        assert max(paid.values()) == 1
        assert sum(result.payment_instructions_created for result in results) == 6 * 3
        assert check_ledger(session) == []


def test_a_cancelled_payment_is_not_paid_again(session_factory: sessionmaker[Session]) -> None:
    plans = _people(session_factory, 1)
    [anna] = plans
    run_days(session_factory, plans, PLAN_START, RENT_DAY)
    with transaction(session_factory, write=True) as session:
        [rent] = [
            i
            for i in instructions(session)
            if i.kind == "fixed_cost"
            and i.due_date == dt.date(2026, 12, 1)
            and i.amount_cents == 64_500
        ]
        [monday] = [
            i for i in instructions(session) if i.kind == "living_money" and i.due_date == RENT_DAY
        ]
        for instruction in (rent, monday):
            cancel_instruction(
                session, instruction_id=instruction.id, actor="fenna", reason="test", today=RENT_DAY
            )
    summaries = run_days(
        session_factory, plans, RENT_DAY + dt.timedelta(days=1), dt.date(2026, 12, 7)
    )
    assert all(summary.ok for summary in summaries.values()), summaries
    with transaction(session_factory) as session:
        paid = _payments_per_due_date(session)
        assert paid[(anna, MITROS_IBAN, dt.date(2026, 12, 1))] == 1
        assert paid[(anna, ANNA_IBAN, RENT_DAY)] == 1  # the cancelled one, not again
        # The rent money waits in `reserved` for the caseworker: rules never retry it.
        rent_pays = session.scalars(
            select(JournalEntryRecord.idempotency_key).where(
                JournalEntryRecord.reason_code == "fixed_cost.pay",
                JournalEntryRecord.idempotency_key.like("%huur:2026-12-01"),
            )
        ).all()
        assert len(rent_pays) == 1
        assert check_ledger(session) == []


def test_a_cache_that_missed_an_entry_is_rebuilt(session_factory: sessionmaker[Session]) -> None:
    plans = _people(session_factory, 2)
    run_days(session_factory, plans, PLAN_START, dt.date(2026, 11, 20))
    tampered, _ = sorted(plans)
    with transaction(session_factory, write=True) as session:
        state = session.get_one(CycleState, tampered)
        # As if an entry below the cached one had been committed late by another writer.
        state.postings_folded -= 2
    summaries = run_days(session_factory, plans, dt.date(2026, 11, 21), dt.date(2026, 11, 21))
    assert summaries[dt.date(2026, 11, 21)].state_rebuilds == 1
    # Every day, the cache plus the entries since gives the open items a full rebuild
    # from the ledger gives (what the engine sees is the same either way).
    day = dt.date(2026, 11, 22)
    while day <= dt.date(2026, 12, 1):
        run_days(session_factory, plans, day, day)
        with transaction(session_factory) as session:
            for participant_id in plans:
                assert _open_items(session, participant_id, day, cached=True) == _open_items(
                    session, participant_id, day, cached=False
                )
        day += dt.timedelta(days=1)


def _open_items(session: Session, participant_id: int, day: dt.date, *, cached: bool) -> OpenItems:
    accounts = loading.AccountCache()
    if cached:
        state = session.get_one(CycleState, participant_id)
        builder = OpenItemsBuilder.starting_from(OpenItems.model_validate(state.open_items))
        found = loading.entries_after(
            session, incremental_ids=[participant_id], rebuild_ids=[], accounts=accounts
        )
    else:
        builder = OpenItemsBuilder()
        for key in loading.rules_alert_keys(session, [participant_id]).get(participant_id, ()):
            builder.add_alert(key)
        found = loading.entries_after(
            session, incremental_ids=[], rebuild_ids=[participant_id], accounts=accounts
        )
    for entry in found[participant_id].entries:
        builder.add_entry(entry)
    return builder.build(day)


def test_a_returned_payment_is_not_paid_again(session_factory: sessionmaker[Session]) -> None:
    """The finance routine exports the 30 Nov batch, the bank debits it on 1 Dec and
    returns the rent on 2 Dec (AC04, account closed). The cycle keeps the money
    reserved for the caseworker and never pays that rent again."""
    plans = _people(session_factory, 1)
    [anna] = plans
    run_days(session_factory, plans, PLAN_START, RENT_DAY)
    with transaction(session_factory, write=True) as session:
        for batch in propose_batches(session, today=RENT_DAY):
            prepare_batch(session, batch.id, actor="fenna", today=RENT_DAY)
            approve_batch(session, batch.id, actor="frank")
            export_batch(session, batch.id, actor="fenna", today=RENT_DAY)
        [rent] = [
            i
            for i in instructions(session)
            if i.creditor_iban == MITROS_IBAN and i.due_date == dt.date(2026, 12, 1)
        ]
        settle_by_end_to_end_id(
            session,
            end_to_end_id=rent.end_to_end_id,
            amount_cents=rent.amount_cents,
            bank_iban=MUNICIPAL_IBAN,
            booking_date=dt.date(2026, 12, 1),
            bank_reference="DEBIT-1",
        )
        return_payment(
            session,
            end_to_end_id=rent.end_to_end_id,
            amount_cents=rent.amount_cents,
            reason_code="AC04",
            bank_iban=MUNICIPAL_IBAN,
            booking_date=dt.date(2026, 12, 2),
            bank_reference="RETURN-1",
        )
    summaries = run_days(
        session_factory, plans, RENT_DAY + dt.timedelta(days=1), dt.date(2026, 12, 7)
    )
    assert all(summary.ok for summary in summaries.values()), summaries
    assert any(summary.state_rebuilds for summary in summaries.values())
    with transaction(session_factory) as session:
        assert _payments_per_due_date(session)[(anna, MITROS_IBAN, dt.date(2026, 12, 1))] == 1
        state = session.get_one(CycleState, anna)
        reserved = OpenItems.model_validate(state.open_items).reserved_by_due_date()
        assert reserved[("huur", dt.date(2026, 12, 1))] == 64_500
        assert check_ledger(session) == []
