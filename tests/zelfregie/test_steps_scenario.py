"""Issue 12, scenario: Anna moves from step 1 to step 3 over simulated months and
takes over her phone bill; she (and once her caseworker) confirm it paid; one missed
confirmation makes the service pay it directly again and tells both why.

Everything runs through the real pieces: incomes arrive on bank statements (the
import), the daily cycle runs day by day, step changes and the phone bill go through
co-decision with their entry conditions met. Runs on SQLite and on PostgreSQL
(HUISHOUDBOEKJE_TEST_POSTGRES_URL).
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.codecision import service as proposals
from backend.codecision.changes import (
    AutonomyStepChange,
    FixedCostPaidByParticipantChange,
    LivingMoneyAmountChange,
    LivingMoneyScheduleChange,
    PlanChange,
)
from backend.cycle.service import run_daily_cycle
from backend.db import transaction
from backend.errors import Forbidden, InvalidInput
from backend.ledger_store import account_balances
from backend.ledger_store.service import check_ledger
from backend.models import (
    Agreement,
    Alert,
    AutonomyStepRecord,
    PaymentInstruction,
    Proposal,
    ProposalEvent,
)
from backend.models.base import utcnow
from backend.plans.appliers import register_plan_appliers
from backend.plans.service import current_plan, latest_plan
from backend.zelfregie import self_payment
from backend.zelfregie.payout_choice import payout_limits
from backend.zelfregie.steps import current_step, step_view
from client_app.models import AppMessage
from client_app.services.messages import install_message_events
from ledger import AccountKind, holding_cents
from tests.access.conftest import Demo
from tests.cycle.demo_days import AnnasDays

PHONE = "telefoon"
SIMULATION_DAYS_MAX = 400
EXPIRY_DAYS = 14


class World(AnnasDays):
    """Anna's days after the seed: incomes on statements, then the daily cycle."""

    def __init__(self, session_factory: sessionmaker[Session], demo: Demo) -> None:
        super().__init__(session_factory, demo, horizon_days=SIMULATION_DAYS_MAX)

    def until_next_step_ready(self) -> None:
        for _ in range(SIMULATION_DAYS_MAX):
            with self.factory() as session:
                if step_view(session, self.anna, self.day).next.ready:
                    return
            self.next_day()
        raise AssertionError("the next step never became ready")

    def propose(
        self,
        session: Session,
        user_id: int,
        change: PlanChange,
        reason: str,
        *,
        emergency: bool = False,
    ) -> Proposal:
        """A proposal on the world's day, by this user for anna."""
        return proposals.create_proposal(
            session,
            self.principal(session, user_id),
            self.anna,
            change=change,
            reason=reason,
            effective_from=None,
            emergency=emergency,
            today=self.day,
            now=utcnow(),
            expiry_days=EXPIRY_DAYS,
        )

    def approve(self, session: Session, user_id: int, proposal: Proposal) -> None:
        proposals.approve(
            session,
            self.principal(session, user_id),
            proposal,
            reason=None,
            today=self.day,
            now=utcnow(),
        )

    def agree_step(self, step: int) -> None:
        """Anna asks for the next step (its conditions are met), carla agrees."""
        with transaction(self.factory) as session:
            assert step_view(session, self.anna, self.day).next.ready
            proposal = self.propose(
                session,
                self.anna_user,
                AutonomyStepChange(step=step),
                "Ik wil graag de volgende stap zetten.",
            )
            self.approve(session, self.carla_user, proposal)
        with self.factory() as session:
            assert current_step(session, self.anna, self.day)[0] == step


def _phone_row(session: Session, anna: int) -> int:
    row_id = session.scalar(
        select(Agreement.id).where(
            Agreement.participant_id == anna, Agreement.plan_agreement_id == PHONE
        )
    )
    assert row_id is not None
    return row_id


def _phone_instructions(session: Session, anna: int) -> list[PaymentInstruction]:
    return list(
        session.scalars(
            select(PaymentInstruction)
            .where(PaymentInstruction.participant_id == anna)
            .where(PaymentInstruction.due_date.is_not(None))
            .order_by(PaymentInstruction.id)
        )
    )


def _holdings_total(session: Session, anna: int) -> int:
    """Everything held for Anna (owner's view; the advance counts as a debt)."""
    raw = account_balances(session, participant_id=anna)
    return sum(
        holding_cents(ref, cents)
        for ref, cents in raw.items()
        if ref.participant_id == anna and ref.kind in AccountKind
    )


@pytest.mark.slow
def test_from_step_1_to_3_the_phone_bill_then_a_missed_payment_falls_back(
    demo: Demo, session_factory: sessionmaker[Session]
) -> None:
    install_message_events()
    register_plan_appliers()
    world = World(session_factory, demo)
    anna = world.anna
    started = world.day
    with session_factory() as session:
        held_before = _holdings_total(session, anna)

    # -- step 1: everything managed. Paying a bill yourself is refused here.
    with transaction(session_factory) as session:
        with pytest.raises(InvalidInput, match="starts at step 3"):
            world.propose(
                session,
                world.anna_user,
                FixedCostPaidByParticipantChange(
                    agreement_id=_phone_row(session, anna), paid_by_participant=True
                ),
                "Ik wil mijn telefoon zelf betalen.",
            )
        assert session.scalar(select(Proposal.id)) is None

    world.until_next_step_ready()
    world.agree_step(2)

    # -- step 2: Anna chooses her payout day herself; within the limits it goes through
    # at once (recorded as such), a larger amount than the plan leaves waits for carla.
    with transaction(session_factory) as session:
        anna_principal = world.principal(session, world.anna_user)
        friday = world.propose(
            session,
            world.anna_user,
            LivingMoneyScheduleChange(frequency="weekly", weekday=4),
            "Op vrijdag doe ik de boodschappen.",
        )
        assert friday.status == "approved" and friday.applied_at is not None
        events = list(
            session.scalars(select(ProposalEvent).where(ProposalEvent.proposal_id == friday.id))
        )
        assert [(e.action, e.actor_party) for e in events] == [
            ("proposed", "participant"),
            ("approved", "system"),
            ("applied", None),
        ]
        assert events[1].reason and events[1].reason.startswith("Automatisch goedgekeurd")
        stored = current_plan(session, anna, world.day)
        assert stored is not None
        limits = payout_limits(stored.plan)
        assert limits is not None
        too_much = world.propose(
            session,
            world.anna_user,
            LivingMoneyAmountChange(amount_cents_per_month=limits.most_cents + 1),
            "Ik wil meer leefgeld.",
        )
        assert too_much.status == "proposed"  # carla decides
        proposals.withdraw(session, anna_principal, too_much, reason=None, now=utcnow())

    world.until_next_step_ready()
    world.agree_step(3)

    # -- step 3: carla proposes that Anna pays her phone bill herself; Anna agrees.
    with transaction(session_factory) as session:
        proposal = world.propose(
            session,
            world.carla_user,
            FixedCostPaidByParticipantChange(
                agreement_id=_phone_row(session, anna), paid_by_participant=True
            ),
            "Anna wil haar telefoon zelf betalen; dat past bij stap 3.",
        )
        with pytest.raises(Forbidden):  # the emergency path never switches it on
            world.propose(
                session,
                world.carla_user,
                FixedCostPaidByParticipantChange(
                    agreement_id=_phone_row(session, anna), paid_by_participant=True
                ),
                "Spoed: Anna betaalt haar telefoon voortaan zelf.",
                emergency=True,
            )
        world.approve(session, world.anna_user, proposal)
        stored = latest_plan(session, anna)
        assert stored is not None and stored.plan.fixed_cost(PHONE).paid_by_participant  # type: ignore[union-attr]
        own_iban = stored.plan.living_money.payee_iban  # type: ignore[union-attr]
        kpn_iban = stored.plan.fixed_cost(PHONE).creditor_iban  # type: ignore[union-attr]
        start_count = len(_phone_instructions(session, anna))

    # Three phone bills handed over: Anna confirms the first, carla the second, the third
    # nobody confirms.
    first_due = next(
        day
        for day in (world.day + dt.timedelta(days=n) for n in range(1, 40))
        if day.day == 15 and day - world.day > dt.timedelta(days=3)
    )
    dues = [first_due]
    for _ in range(3):
        nxt = dues[-1] + dt.timedelta(days=31)
        dues.append(nxt.replace(day=15))
    world.until(dues[0] + dt.timedelta(days=2))
    with transaction(session_factory) as session:
        self_payment.confirm_paid(
            session,
            world.principal(session, world.anna_user),
            anna,
            agreement_id=PHONE,
            due_date=dues[0],
            now=utcnow(),
        )
    world.until(dues[1] + dt.timedelta(days=6))
    with transaction(session_factory) as session:
        self_payment.confirm_paid(
            session,
            world.principal(session, world.carla_user),
            anna,
            agreement_id=PHONE,
            due_date=dues[1],
            now=utcnow(),
        )
    deadline = dues[2] + dt.timedelta(days=7)
    world.until(deadline)
    with session_factory() as session:
        assert not session.scalars(select(Alert).where(Alert.kind == "self_payment_missed")).all()
        bills = self_payment.self_paid_bills(session, anna, world.day)
        assert [(b.due_date, b.confirmed_party, b.missed) for b in bills] == [
            (dues[2], None, False),
            (dues[1], "caseworker", False),
            (dues[0], "participant", False),
        ]
    missed_day = world.next_day()

    with session_factory() as session:
        # Both are told, with why: the caseworker's work queue and Anna's messages.
        (alert,) = session.scalars(select(Alert).where(Alert.kind == "self_payment_missed"))
        assert alert.participant_id == anna and alert.resolved_at is None
        assert "Niet gemeld als betaald" in alert.message_nl
        assert "vanaf nu weer zelf aan" in alert.message_nl
        titles = list(
            session.scalars(select(AppMessage.title_nl).where(AppMessage.participant_id == anna))
        )
        assert "Wij betalen een rekening weer voor je" in titles
        # The plan says so too: a version made through the emergency path, with a reason.
        (switch,) = session.scalars(
            select(Proposal).where(
                Proposal.kind == "fixed_cost_paid_by_participant", Proposal.emergency.is_(True)
            )
        )
        assert switch.status == "emergency_applied" and switch.applied_at is not None
        assert switch.payload["paid_by_participant"] is False
        assert "Niet gemeld als betaald" in switch.reason
        stored = current_plan(session, anna, missed_day)
        assert stored is not None
        assert not stored.plan.fixed_cost(PHONE).paid_by_participant  # type: ignore[union-attr]
        plan_version = stored.version

    # Running the same day again changes nothing: no second alert, no second version.
    again = run_daily_cycle(session_factory, today=missed_day, participant_ids=[anna])
    assert again.journal_entries_created == 0 and again.alerts_raised == 0
    with session_factory() as session:
        stored = latest_plan(session, anna)
        assert stored is not None and stored.version == plan_version

    # The next phone bill goes to KPN again, once.
    world.until(dues[3] + dt.timedelta(days=1))
    rerun = run_daily_cycle(session_factory, today=world.day, participant_ids=[anna])
    assert rerun.payment_instructions_created == 0
    with session_factory() as session:
        phone = [
            (i.due_date, i.kind, i.source_kind, i.creditor_iban, i.amount_cents)
            for i in _phone_instructions(session, anna)[start_count:]
            if i.due_date is not None and i.due_date.day == 15 and i.amount_cents == 3500
        ]
        assert phone == [
            (dues[0], "living_money", "reserved", own_iban, 3500),
            (dues[1], "living_money", "reserved", own_iban, 3500),
            (dues[2], "living_money", "reserved", own_iban, 3500),
            (dues[3], "fixed_cost", "reserved", kpn_iban, 3500),
        ]
        # Not a euro created or lost: the ledger balances, and Anna's holdings are her
        # incomes and the advance minus what left the bank (nothing is settled here, so
        # every payment still sits in payable).
        assert check_ledger(session) == []
        incomes = sum(
            credit.amount_cents
            for day, credits in world.incomes.items()
            if started < day <= world.day
            for credit in credits
        )
        assert _holdings_total(session, anna) == held_before + incomes
        # Months really passed: two times three months at a step, then four phone bills.
        assert dues[0] - started >= dt.timedelta(days=180)
        step_record = session.scalars(
            select(AutonomyStepRecord).order_by(AutonomyStepRecord.id)
        ).all()
        assert [r.step for r in step_record] == [2, 3]
