"""Helpers for the daily-cycle tests and benchmark: participants with Anna's plan
(MONEY-FLOW.md), their incomes booked day by day as the import books them, and the
cycle run for each day."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from backend.cycle import CycleSummary, run_daily_cycle
from backend.db import transaction
from backend.demo.plans import anna_plan
from backend.ledger_store import post_entries
from backend.models import Household, JournalEntryRecord, Participant, PaymentInstruction
from backend.municipality.service import add_bank_account, ensure_system_accounts
from backend.plans import store_plan_version
from ledger import AccountKind, AccountRef, JournalEntry, Posting
from rules import REASON_INCOME_MATCHED, Plan, income_metadata, occurrences

MUNICIPAL_IBAN = "NL84BNGH0285050123"
ANNA_IBAN = "NL32INGB0007777777"
# Anna joins on 16 October 2026: fixed costs from 1 November, living money from 26 October.
PLAN_START = dt.date(2026, 10, 16)
_numbers = itertools.count(1)


def municipality(session: Session) -> None:
    add_bank_account(session, iban=MUNICIPAL_IBAN, name="Gemeente Utrecht Budgetbeheer")
    ensure_system_accounts(session)


def add_participants(
    session: Session, count: int, *, started_on: dt.date = PLAN_START
) -> list[int]:
    """Participants inserted in bulk (synthetic BSN fields: these tests do not read them)."""
    household_ids = [
        row[0]
        for row in session.execute(
            insert(Household).returning(Household.id, sort_by_parameter_order=True),
            [{"name": f"Huishouden {next(_numbers)}"} for _ in range(count)],
        )
    ]
    return [
        row[0]
        for row in session.execute(
            insert(Participant).returning(Participant.id, sort_by_parameter_order=True),
            [
                {
                    "household_id": household_id,
                    "display_name": f"Deelnemer {household_id}",
                    "bsn_encrypted": f"synthetic-{household_id}",
                    "bsn_index": f"synthetic-{household_id}-{next(_numbers)}",
                    "own_iban": ANNA_IBAN,
                    "status": "active",
                    "started_on": started_on,
                }
                for household_id in household_ids
            ],
        )
    ]


def give_plans(
    session: Session, participant_ids: Iterable[int], *, start: dt.date = PLAN_START
) -> dict[int, Plan]:
    """Anna's plan for each participant, with its municipal buffer advance booked."""
    plans: dict[int, Plan] = {}
    advances: list[JournalEntry] = []
    for participant_id in participant_ids:
        plan = store_plan_version(
            session,
            anna_plan(participant_id, start, ANNA_IBAN),
            created_by="test",
            source="onboarding",
        ).plan
        plans[participant_id] = plan
        cents = plan.buffer.advance_cents
        advances.append(
            JournalEntry(
                idempotency_key=f"test:{participant_id}:advance",
                booking_date=start,
                reason_code="buffer.advance",
                explanation="De gemeente schiet het begin van je buffer voor.",
                postings=(
                    Posting(
                        AccountRef.of_participant(participant_id, AccountKind.BUFFER_ADVANCE), cents
                    ),
                    Posting(AccountRef.of_participant(participant_id, AccountKind.BUFFER), -cents),
                ),
            )
        )
    post_entries(session, advances, created_by="test")
    return plans


def income_entry(
    participant_id: int, agreement_id: str, expected: dt.date, received_on: dt.date, cents: int
) -> JournalEntry:
    """An income as the import books it: bank +, available -, with rules.income_metadata."""
    return JournalEntry(
        idempotency_key=f"test:income:{participant_id}:{agreement_id}:{expected}",
        booking_date=received_on,
        reason_code=REASON_INCOME_MATCHED,
        explanation="Inkomen ontvangen.",
        postings=(
            Posting(AccountRef.bank(MUNICIPAL_IBAN), cents),
            Posting(AccountRef.of_participant(participant_id, AccountKind.AVAILABLE), -cents),
        ),
        metadata=income_metadata(agreement_id, expected),
    )


def incomes_on(
    plans: Mapping[int, Plan],
    day: dt.date,
    *,
    late: Mapping[tuple[int, str, dt.date], dt.date | None] | None = None,
    amounts: Mapping[tuple[int, str, dt.date], int] | None = None,
) -> list[JournalEntry]:
    """The incomes that arrive on `day`: on their expected day unless `late` moves them
    ((participant, agreement, expected) -> day, or None: never)."""
    late = late or {}
    amounts = amounts or {}
    found: list[JournalEntry] = []
    for participant_id, plan in plans.items():
        for income in plan.incomes:
            for expected in occurrences(income.schedule, day - dt.timedelta(days=40), day):
                key = (participant_id, income.agreement_id, expected)
                arrives = late.get(key, expected)
                if arrives == day:
                    cents = amounts.get(key, income.expected_amount_cents)
                    found.append(
                        income_entry(participant_id, income.agreement_id, expected, day, cents)
                    )
    return found


def run_days(
    session_factory: sessionmaker[Session],
    plans: Mapping[int, Plan],
    start: dt.date,
    end: dt.date,
    **options: object,
) -> dict[dt.date, CycleSummary]:
    """Every day from start to end: the day's incomes are imported, then the cycle runs."""
    late = options.pop("late", None)
    amounts = options.pop("amounts", None)
    summaries: dict[dt.date, CycleSummary] = {}
    day = start
    while day <= end:
        entries = incomes_on(plans, day, late=late, amounts=amounts)  # type: ignore[arg-type]
        if entries:
            with transaction(session_factory, write=True) as session:
                post_entries(session, entries, created_by="bank-import")
        summaries[day] = run_daily_cycle(session_factory, today=day, **options)  # type: ignore[arg-type]
        day += dt.timedelta(days=1)
    return summaries


def entries_by_reason(session: Session, booking_date: dt.date | None = None) -> dict[str, int]:
    query = select(JournalEntryRecord.reason_code, func.count()).group_by(
        JournalEntryRecord.reason_code
    )
    if booking_date is not None:
        query = query.where(JournalEntryRecord.booking_date == booking_date)
    return {reason: int(count) for reason, count in session.execute(query)}


def instructions(
    session: Session, participant_ids: Sequence[int] | None = None
) -> list[PaymentInstruction]:
    query = select(PaymentInstruction).order_by(PaymentInstruction.id)
    if participant_ids is not None:
        query = query.where(PaymentInstruction.participant_id.in_(list(participant_ids)))
    return list(session.scalars(query))
