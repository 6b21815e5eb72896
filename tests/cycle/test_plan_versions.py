"""A new plan version changes what the cycle does from its date, and never pays a due
date again that an earlier version already paid.

Anna's rent is paid on Mon 30 Nov for Tue 1 Dec at € 645,00 (version 1). From 1 Dec
her rent is € 700,00 (version 2, a co-decision change of the fixed cost's amount)
and from 7 Dec her living money is capped at € 300,00 a month (version 3)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.codecision.changes import FixedCostAmountChange, LivingMoneyAmountChange
from backend.db import transaction
from backend.ledger_store import check_ledger
from backend.models import Agreement, JournalEntryRecord
from backend.plans import apply_plan_change, current_plan
from rules import payout_amount_cents
from tests.cycle.support import (
    PLAN_START,
    add_participants,
    give_plans,
    instructions,
    municipality,
    run_days,
)

MITROS_IBAN = "NL44RABO0123456789"


def test_a_new_version_changes_what_is_paid_after_its_date(
    session_factory: sessionmaker[Session],
) -> None:
    with transaction(session_factory, write=True) as session:
        municipality(session)
        [anna] = add_participants(session, 1)
        plans = give_plans(session, [anna])
    run_days(session_factory, plans, PLAN_START, dt.date(2026, 11, 30))
    with transaction(session_factory, write=True) as session:
        rent_row = session.scalar(
            select(Agreement.id).where(
                Agreement.participant_id == anna, Agreement.plan_agreement_id == "huur"
            )
        )
        assert rent_row is not None
        apply_plan_change(
            session,
            anna,
            FixedCostAmountChange(agreement_id=rent_row, amount_cents=70_000),
            effective_from=dt.date(2026, 12, 1),
            created_by="carla",
            source="proposal:1",
        )
        apply_plan_change(
            session,
            anna,
            LivingMoneyAmountChange(amount_cents_per_month=30_000),
            effective_from=dt.date(2026, 12, 7),
            created_by="carla",
            source="proposal:2",
        )
    # The cycle takes the version in force each day from the store.
    with transaction(session_factory) as session:
        versions = {
            day: current_plan(session, anna, day).plan  # type: ignore[union-attr]
            for day in (dt.date(2026, 11, 30), dt.date(2026, 12, 1), dt.date(2026, 12, 7))
        }
    assert [plan.version for plan in versions.values()] == [1, 2, 3]
    summaries = run_days(
        session_factory,
        {anna: versions[dt.date(2026, 12, 7)]},
        dt.date(2026, 12, 1),
        dt.date(2027, 1, 4),
    )
    assert all(summary.ok for summary in summaries.values())
    with transaction(session_factory) as session:
        rents = sorted(
            (i.due_date, i.amount_cents)
            for i in instructions(session, [anna])
            if i.creditor_iban == MITROS_IBAN
        )
        # 1 Dec paid once under version 1 (on 30 Nov); 1 Jan under the new amount.
        assert rents == [
            (dt.date(2026, 11, 1), 64_500),
            (dt.date(2026, 12, 1), 64_500),
            (dt.date(2027, 1, 1), 70_000),
        ]
        versions_paid = {
            entry.entry_metadata["due_date"]: entry.entry_metadata["plan_version"]
            for entry in session.scalars(
                select(JournalEntryRecord).where(
                    JournalEntryRecord.reason_code == "fixed_cost.pay",
                    JournalEntryRecord.idempotency_key.like("%:huur:%"),
                )
            )
        }
        assert versions_paid == {"2026-11-01": "1", "2026-12-01": "1", "2027-01-01": "3"}
        living = {
            i.due_date: i.amount_cents
            for i in instructions(session, [anna])
            if i.kind == "living_money"
        }
        version_1, version_3 = versions[dt.date(2026, 11, 30)], versions[dt.date(2026, 12, 7)]
        assert living[dt.date(2026, 11, 30)] == payout_amount_cents(
            version_1.living_money_monthly_cents, version_1, dt.date(2026, 11, 30)
        )
        assert version_3.living_money_monthly_cents == 30_000
        for monday in (dt.date(2026, 12, 7), dt.date(2026, 12, 14), dt.date(2026, 12, 21)):
            assert living[monday] == payout_amount_cents(30_000, version_3, monday)
        assert check_ledger(session) == []
