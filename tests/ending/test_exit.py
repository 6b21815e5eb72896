"""Ending participation (issues 8 and 12): an exit closes every account to zero with
reasons, the payouts go through a batch and settle, `ledger check` and `reconcile`
pass with zero difference, re-running pays nothing twice, and afterwards nothing can
change. SQLite always, PostgreSQL when HUISHOUDBOEKJE_TEST_POSTGRES_URL is set."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.codecision.changes import EndParticipationChange, LivingMoneyAmountChange
from backend.codecision.service import approve, create_proposal
from backend.cycle.service import run_daily_cycle
from backend.db import transaction
from backend.ending.service import settle, settle_due_endings
from backend.errors import Conflict, InvalidInput
from backend.ledger_store import check_ledger, post_entry
from backend.models import (
    AutonomyStepRecord,
    JournalEntryRecord,
    Participant,
    ParticipationEnd,
    PaymentInstruction,
    SavingsGoal,
)
from backend.payments.reconcile import reconcile
from backend.plans import register_plan_appliers
from backend.plans.service import income_expectations_for_payers
from backend.privacy_store.retention import due_participants
from backend.zelfregie import savings
from ledger import AccountKind, AccountRef, JournalEntry, Money, Posting
from tests.access.conftest import SEED_TODAY, Demo
from tests.backend.test_cli import run_cli
from tests.ending.support import (
    counts,
    participant_holdings,
    pay_everything,
    principal,
    system_holding,
)

END = dt.date(2026, 12, 1)
NOON = dt.datetime(2026, 11, 28, 11, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _appliers() -> None:
    register_plan_appliers()


def _propose_end(session: Session, who: str, participant_id: int, end: dt.date, reason: str) -> int:
    proposal = create_proposal(
        session,
        principal(session, who),
        participant_id,
        change=EndParticipationChange(),
        reason=reason,
        effective_from=end,
        emergency=False,
        today=SEED_TODAY,
        now=NOON,
        expiry_days=14,
    )
    return proposal.id


def _approve(session: Session, who: str, proposal_id: int) -> None:
    from backend.models import Proposal

    proposal = session.get(Proposal, proposal_id)
    assert proposal is not None
    approve(session, principal(session, who), proposal, reason=None, today=SEED_TODAY, now=NOON)


def test_exit_from_step_4_closes_every_account_and_reconciles(
    demo: Demo, session_factory: sessionmaker[Session], database_url: str
) -> None:
    anna = demo.participants["anna"]
    with transaction(session_factory, write=True) as session:
        session.add(
            AutonomyStepRecord(participant_id=anna, step=4, effective_from=dt.date(2026, 11, 1))
        )
        # A savings goal with money in it: it goes with her too.
        goal = savings.create_goal(
            session,
            principal(session, "anna"),
            anna,
            name="Koelkast",
            target_cents=40_000,
            monthly_cents=0,
            target_date=None,
            today=SEED_TODAY,
        )
        savings.set_aside(
            session,
            principal(session, "anna"),
            anna,
            goal.id,
            amount_cents=2_500,
            today=SEED_TODAY,
            forecast=None,
        )
        proposal_id = _propose_end(session, "carla", anna, END, "Anna regelt haar geld zelf.")
    with transaction(session_factory, write=True) as session:
        _approve(session, "anna", proposal_id)
        end = session.scalar(
            select(ParticipationEnd).where(ParticipationEnd.participant_id == anna)
        )
        assert end is not None and end.status == "agreed" and end.end_date == END
        before = participant_holdings(session, anna)
    assert before[AccountKind.BUFFER_ADVANCE] < 0  # the advance is still owed
    assert before[AccountKind.SAVINGS] == 2_500

    for day in (dt.date(2026, 11, 29), dt.date(2026, 11, 30), END):
        run_daily_cycle(session_factory, today=day)

    with transaction(session_factory, write=True) as session:
        end = session.scalar(
            select(ParticipationEnd).where(ParticipationEnd.participant_id == anna)
        )
        assert end is not None and end.status == "settled" and end.settled_on == END
        person = session.get(Participant, anna)
        assert person is not None and person.status == "ended" and person.ended_on == END
        left = participant_holdings(session, anna)
        # Only payments on their way are left (payable), every other account is zero.
        assert set(left) <= {AccountKind.PAYABLE}, left
        handover = end.handover
        assert handover["remaining_debt_cents"] == 0
        assert handover["advance_settled_cents"] == -before[AccountKind.BUFFER_ADVANCE]
        assert handover["savings_cents"] == 2_500
        reasons = {line["reason_code"] for line in handover["closing_entries"]}
        assert {"exit.savings_release", "exit.advance_settled", "exit.payout"} <= reasons
        assert all(line["explanation"] for line in handover["closing_entries"])
        paid_out = sum(payout["amount_cents"] for payout in handover["payouts"])
        # Money is neither made nor lost: what she held (minus the advance and what the
        # last engine run paid) is what is paid out.
        exit_payouts = session.scalars(
            select(PaymentInstruction).where(
                PaymentInstruction.participant_id == anna,
                PaymentInstruction.idempotency_key.like(f"exit:{anna}:payout:%"),
            )
        ).all()
        assert sum(p.amount_cents for p in exit_payouts) == paid_out > 0
        # Exactly what she held at the settlement, minus the advance, is paid out.
        start = handover["start_holdings"]
        held_then = sum(
            start.get(kind, 0)
            for kind in ("available", "reserved", "buffer", "savings", "buffer_advance")
        )
        assert held_then == paid_out
        assert {p.creditor_iban for p in exit_payouts} == {handover["own_iban"]}
        # Income that still comes after the end is no longer matched to her.
        expected = income_expectations_for_payers(
            session,
            [income["payer_iban"] for income in handover["incomes"]],
            start=dt.date(2026, 12, 2),
            end=dt.date(2027, 3, 1),
        )
        assert handover["incomes"] and not [
            item
            for items in expected.values()
            for item in items
            if item.participant_id == anna and item.in_force_on(dt.date(2026, 12, 2))
        ]
        mitros = [c for c in handover["fixed_costs"] if c["creditor_name"] == "Mitros"]
        assert mitros and mitros[0]["you_pay_from"] == "2027-01-01"
        entries_before, instructions_before = counts(session, anna)

    # Re-running the cycle (same day and later) and the settlement pays nothing twice.
    run_daily_cycle(session_factory, today=END)
    run_daily_cycle(session_factory, today=dt.date(2026, 12, 2))
    with transaction(session_factory, write=True) as session:
        end = session.scalar(
            select(ParticipationEnd).where(ParticipationEnd.participant_id == anna)
        )
        assert end is not None
        assert settle(session, end, today=dt.date(2026, 12, 3)) is False
        assert settle_due_endings(session, today=dt.date(2026, 12, 3)) == 0
        assert counts(session, anna) == (entries_before, instructions_before)

    with transaction(session_factory, write=True) as session:
        pay_everything(session, END, "STMT-EXIT-1201")
    with transaction(session_factory) as session:
        assert participant_holdings(session, anna) == {}
        assert check_ledger(session) == []
        report = reconcile(session)
        assert report.ok, report.as_dict()
        assert report.totals["held_cents"] == report.totals["bank_cents"]
        assert report.accounts[0].status == "ok"
    # The same through the commands an operator runs.
    check = run_cli(database_url, "ledger", "check", "--json")
    assert check.returncode == 0, check.stdout + check.stderr
    reconciled = run_cli(database_url, "reconcile", "--json")
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr
    assert json.loads(reconciled.stdout)["ok"] is True


def test_after_the_end_nothing_changes(demo: Demo, session_factory: sessionmaker[Session]) -> None:
    anna = demo.participants["anna"]
    with transaction(session_factory, write=True) as session:
        goal = savings.create_goal(
            session,
            principal(session, "anna"),
            anna,
            name="Fiets",
            target_cents=10_000,
            monthly_cents=0,
            target_date=None,
            today=SEED_TODAY,
        )
        pending = create_proposal(
            session,
            principal(session, "anna"),
            anna,
            change=LivingMoneyAmountChange(amount_cents_per_month=40_000),
            reason="Iets meer leefgeld",
            effective_from=dt.date(2026, 12, 10),
            emergency=False,
            today=SEED_TODAY,
            now=NOON,
            expiry_days=14,
        )
        pending_id, goal_id = pending.id, goal.id
        # The participant asks; the caseworker agrees; the end is today: settled at once.
        proposal_id = _propose_end(session, "anna", anna, SEED_TODAY, "Ik wil het zelf doen.")
    with transaction(session_factory, write=True) as session:
        _approve(session, "carla", proposal_id)
    with transaction(session_factory, write=True) as session:
        person = session.get(Participant, anna)
        assert person is not None and person.status == "ended"
        snapshot = counts(session, anna)
        with pytest.raises(Conflict, match="ended on 2026-11-28; nothing can be changed"):
            create_proposal(
                session,
                principal(session, "carla"),
                anna,
                change=LivingMoneyAmountChange(amount_cents_per_month=30_000),
                reason="Nog een wijziging",
                effective_from=dt.date(2026, 12, 10),
                emergency=False,
                today=SEED_TODAY,
                now=NOON,
                expiry_days=14,
            )
        from backend.models import Proposal

        open_one = session.get(Proposal, pending_id)
        assert open_one is not None
        with pytest.raises(Conflict, match="nothing can be changed"):
            approve(
                session,
                principal(session, "carla"),
                open_one,
                reason=None,
                today=SEED_TODAY,
                now=NOON,
            )
        with pytest.raises(Conflict, match="nothing can be changed"):
            savings.set_aside(
                session,
                principal(session, "anna"),
                anna,
                goal_id,
                amount_cents=100,
                today=SEED_TODAY,
                forecast=None,
            )
        with pytest.raises(Conflict, match="nothing can be changed"):
            _propose_end(session, "carla", anna, dt.date(2026, 12, 5), "Nog een keer")
        assert counts(session, anna) == snapshot
        assert session.scalar(select(SavingsGoal.id).where(SavingsGoal.id == goal_id))
    # The engine no longer runs for her: a later cycle books nothing of hers.
    run_daily_cycle(session_factory, today=dt.date(2026, 11, 30))
    with transaction(session_factory) as session:
        assert counts(session, anna)[1] == snapshot[1]
        mine = session.scalars(
            select(JournalEntryRecord.idempotency_key).where(
                JournalEntryRecord.booking_date == dt.date(2026, 11, 30)
            )
        ).all()
        assert not [key for key in mine if f":{anna}:" in key or key.endswith(f":{anna}")]
        # Retention counts from the end date.
        due = due_participants(session, years=7, today=dt.date(2033, 11, 29))
        assert anna in {candidate.participant_id for candidate in due}
        assert anna not in {
            c.participant_id
            for c in due_participants(session, years=7, today=dt.date(2033, 11, 27))
        }


def test_plain_end_from_step_1_with_an_advance_the_buffer_cannot_repay(
    demo: Demo, session_factory: sessionmaker[Session], database_url: str
) -> None:
    anna_id = demo.participants["anna"]
    with transaction(session_factory, write=True) as session:
        held = participant_holdings(session, anna_id)
        debt = -held.get(AccountKind.BUFFER_ADVANCE, 0)
        if debt == 0:
            pytest.fail("anna has an advance in the demo")
        buffer = held.get(AccountKind.BUFFER, 0)
        # The buffer was used (income late): only a third of the advance is left in it.
        keep = debt // 3
        if buffer > keep:
            post_entry(
                session,
                JournalEntry(
                    idempotency_key=f"test:draw:{anna_id}",
                    booking_date=SEED_TODAY,
                    reason_code="buffer.draw",
                    explanation="Buffer gebruikt voor leefgeld.",
                    postings=(
                        Posting(
                            AccountRef.of_participant(anna_id, AccountKind.BUFFER), buffer - keep
                        ),
                        Posting(
                            AccountRef.of_participant(anna_id, AccountKind.AVAILABLE), keep - buffer
                        ),
                    ),
                ),
                created_by="test",
            )
        proposal_id = _propose_end(session, "carla", anna_id, SEED_TODAY, "Anna verhuist.")
    with transaction(session_factory, write=True) as session:
        _approve(session, "anna", proposal_id)
    with transaction(session_factory, write=True) as session:
        end = session.scalar(
            select(ParticipationEnd).where(ParticipationEnd.participant_id == anna_id)
        )
        assert end is not None and end.status == "settled"
        remaining = debt - keep
        assert end.remaining_debt_cents == remaining > 0
        assert end.handover["advance_settled_cents"] == keep
        assert system_holding(session, AccountKind.ADVANCE_CLAIM) == -remaining
        claim = session.scalar(
            select(JournalEntryRecord).where(
                JournalEntryRecord.idempotency_key == f"exit:{anna_id}:advance_claim"
            )
        )
        assert claim is not None and "schuldig" in claim.explanation
        pay_everything(session, SEED_TODAY, "STMT-EXIT-1128")
    with transaction(session_factory) as session:
        assert participant_holdings(session, anna_id) == {}
        assert check_ledger(session) == []
        report = reconcile(session)
        assert report.ok, report.as_dict()
        assert report.totals["advance_claims_cents"] == -remaining
    # The operator's text summary names the claim, so the sum it prints adds up.
    summary = run_cli(database_url, "reconcile")
    assert summary.returncode == 0, summary.stdout + summary.stderr
    assert f"advance claims {Money(-remaining).format_nl()} =" in summary.stdout


def test_an_end_needs_an_own_iban(demo: Demo, session_factory: sessionmaker[Session]) -> None:
    anna_id = demo.participants["anna"]
    with transaction(session_factory, write=True) as session:
        person = session.get(Participant, anna_id)
        assert person is not None
        person.own_iban = None
        session.flush()
        with pytest.raises(InvalidInput, match="no own IBAN"):
            _propose_end(session, "carla", anna_id, END, "Zoë stopt.")
