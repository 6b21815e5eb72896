"""Anna's ordinary month from MONEY-FLOW.md, through the backend: her plan stored as a
plan version, her incomes imported with their metadata, and the daily cycle run every
day from 16 October to 1 December 2026. What a caseworker would check:

- 20 Nov: the zorgtoeslag is set aside for energy and water (due 28 Nov);
- 25 Nov: the benefit covers rent and health insurance (due 1 Dec) and phone;
- Fri 27 Nov: energy and water are paid (due Sat 28 Nov);
- Mon 30 Nov: rent and health insurance are paid (due Tue 1 Dec), each with a
  payment instruction to the creditor from the municipality's account;
- every Monday: living money to Anna's own account, € 97,41 a week;
- the buffer grows by € 25,00 a month; the ledger check stays clean.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.cycle import run_daily_cycle
from backend.db import transaction
from backend.ledger_store import account_balances, check_ledger
from backend.models import JournalEntryRecord
from ledger import AccountKind, AccountRef, holding_cents
from rules import Plan, end_to_end_id, occurrences, payout_amount_cents
from tests.cycle.support import (
    ANNA_IBAN,
    PLAN_START,
    add_participants,
    give_plans,
    instructions,
    municipality,
    run_days,
)

MITROS_IBAN = "NL44RABO0123456789"


def _anna(session_factory: sessionmaker[Session]) -> tuple[int, Plan]:
    with transaction(session_factory, write=True) as session:
        municipality(session)
        [anna] = add_participants(session, 1)
        plans = give_plans(session, [anna])
    return anna, plans[anna]


def _entries(session: Session, day: dt.date, reason: str) -> list[JournalEntryRecord]:
    return list(
        session.scalars(
            select(JournalEntryRecord)
            .where(JournalEntryRecord.booking_date == day, JournalEntryRecord.reason_code == reason)
            .order_by(JournalEntryRecord.id)
        )
    )


def _holding(session: Session, participant_id: int, kind: AccountKind) -> int:
    account = AccountRef.of_participant(participant_id, kind)
    raw = account_balances(session, participant_id=participant_id).get(account, 0)
    return holding_cents(account, raw)


def test_an_ordinary_month(session_factory: sessionmaker[Session]) -> None:
    anna, plan = _anna(session_factory)
    summaries = run_days(session_factory, {anna: plan}, PLAN_START, dt.date(2026, 12, 1))
    assert all(summary.ok for summary in summaries.values())
    with transaction(session_factory) as session:
        # 20 Nov: the zorgtoeslag goes to energy and water, due 28 Nov.
        reserved_20 = {
            (entry.entry_metadata["agreement_id"], entry.entry_metadata["due_date"])
            for entry in _entries(session, dt.date(2026, 11, 20), "fixed_cost.reserve")
        }
        assert {("energie", "2026-11-28"), ("water", "2026-11-28")} <= reserved_20
        # 25 Nov: the benefit covers rent, health insurance (1 Dec) and phone (15 Dec).
        reserved_25 = {
            (entry.entry_metadata["agreement_id"], entry.entry_metadata["due_date"])
            for entry in _entries(session, dt.date(2026, 11, 25), "fixed_cost.reserve")
        }
        assert {
            ("huur", "2026-12-01"),
            ("zorgverzekering", "2026-12-01"),
            ("telefoon", "2026-12-15"),
        } <= reserved_25
        # Paid on the last business day before the due date.
        paid = {
            (
                entry.booking_date,
                entry.entry_metadata["agreement_id"],
                entry.entry_metadata["due_date"],
            )
            for entry in session.scalars(
                select(JournalEntryRecord).where(JournalEntryRecord.reason_code == "fixed_cost.pay")
            )
        }
        assert (dt.date(2026, 11, 27), "energie", "2026-11-28") in paid
        assert (dt.date(2026, 11, 27), "water", "2026-11-28") in paid
        assert (dt.date(2026, 11, 30), "huur", "2026-12-01") in paid
        assert (dt.date(2026, 11, 30), "zorgverzekering", "2026-12-01") in paid
        assert (dt.date(2026, 11, 13), "telefoon", "2026-11-15") in paid  # 15 Nov is a Sunday
        # One instruction per payment entry, with the rules' EndToEndId.
        pay_keys = set(
            session.scalars(
                select(JournalEntryRecord.idempotency_key).where(
                    JournalEntryRecord.reason_code.in_(("fixed_cost.pay", "living_money.pay"))
                )
            )
        )
        made = instructions(session, [anna])
        assert {instruction.idempotency_key for instruction in made} == pay_keys
        assert len(made) == len(pay_keys)
        [rent] = [
            i
            for i in made
            if i.kind == "fixed_cost"
            and i.due_date == dt.date(2026, 12, 1)
            and i.creditor_iban == MITROS_IBAN
        ]
        assert rent.amount_cents == 64_500
        assert rent.requested_execution_date == dt.date(2026, 11, 30)
        assert rent.source_kind == "reserved"
        assert rent.status == "payable"
        assert rent.end_to_end_id == end_to_end_id(rent.idempotency_key)
        assert rent.remittance_unstructured == "Huur Amsterdamsestraatweg 12 bis"
        # Living money every Monday of November to Anna's own IBAN.
        living = sorted(
            (i.due_date, i.amount_cents)
            for i in made
            if i.kind == "living_money"
            and dt.date(2026, 11, 1) <= i.due_date <= dt.date(2026, 11, 30)
        )
        assert plan.living_money is not None
        mondays = occurrences(
            plan.living_money.schedule, dt.date(2026, 11, 1), dt.date(2026, 11, 30)
        )
        assert [day for day, _ in living] == mondays
        expected = [
            payout_amount_cents(plan.living_money_monthly_cents, plan, day) for day in mondays
        ]
        assert [cents for _, cents in living] == expected
        assert set(expected) <= {9_741, 9_740}
        assert all(i.creditor_iban == ANNA_IBAN for i in made if i.kind == "living_money")
        # The buffer: the advance plus € 25,00 for October, November and December.
        assert _holding(session, anna, AccountKind.BUFFER) == 150_000 + 3 * 2_500
        assert _holding(session, anna, AccountKind.BUFFER_ADVANCE) == -150_000
        assert check_ledger(session) == []


def test_running_the_same_day_twice_creates_nothing(
    session_factory: sessionmaker[Session],
) -> None:
    anna, plan = _anna(session_factory)
    run_days(session_factory, {anna: plan}, PLAN_START, dt.date(2026, 11, 30))
    with transaction(session_factory) as session:
        before = (
            session.scalar(select(JournalEntryRecord.id).order_by(JournalEntryRecord.id.desc())),
            len(instructions(session)),
        )
    again = run_days(session_factory, {anna: plan}, dt.date(2026, 11, 30), dt.date(2026, 11, 30))
    summary = again[dt.date(2026, 11, 30)]
    assert summary.participants_evaluated == 1
    assert (summary.journal_entries_created, summary.payment_instructions_created) == (0, 0)
    assert summary.alerts_raised == 0
    # And once more with the cache rebuilt from the ledger: still nothing new.
    rebuilt = run_daily_cycle(session_factory, today=dt.date(2026, 11, 30), rebuild_state=True)
    assert rebuilt.state_rebuilds == 1
    assert rebuilt.journal_entries_created == 0
    with transaction(session_factory) as session:
        after = (
            session.scalar(select(JournalEntryRecord.id).order_by(JournalEntryRecord.id.desc())),
            len(instructions(session)),
        )
        assert after == before
        assert check_ledger(session) == []
