"""Money that reaches an ended participant after the final settlement (follow-up):
paid to their own IBAN by the daily cycle, once; never again to an own IBAN that sent
the payout back (the caseworker gets an alert instead); finance can still assign
suspense to them. Life events and the emergency button are refused after the end.
SQLite always, PostgreSQL when HUISHOUDBOEKJE_TEST_POSTGRES_URL is set."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.bank_import import assign_suspense_entry
from backend.codecision import signals
from backend.codecision.changes import EndParticipationChange
from backend.codecision.service import approve, create_proposal
from backend.codecision.signals import EmergencyKind, LifeEventKind
from backend.cycle.service import run_daily_cycle
from backend.db import transaction
from backend.ending.followup import blocked_alerts, pay_after_end, record_new_own_iban
from backend.errors import Conflict, InvalidInput, NotFound
from backend.ledger_store import check_ledger
from backend.models import (
    Alert,
    EmergencyRequest,
    LifeEvent,
    MunicipalBankAccount,
    Participant,
    PaymentInstruction,
    Proposal,
)
from backend.payments.reconcile import reconcile
from backend.payments.settlement import return_payment
from backend.plans import register_plan_appliers
from ledger import AccountKind
from tests.access.conftest import SEED_TODAY, Demo
from tests.ending.support import counts, participant_holdings, pay_everything, principal
from tests.payments.statements import credit_in_suspense

NOON = dt.datetime(2026, 11, 28, 11, 0, tzinfo=dt.UTC)
NEW_IBAN = "NL02ABNA0123456789"


@pytest.fixture(autouse=True)
def _appliers() -> None:
    register_plan_appliers()


def ended_and_paid(session_factory: sessionmaker[Session], participant_id: int) -> None:
    """The participant asks to stop today, the caseworker agrees (settled at once), and
    finance pays the final payouts; the bank debits them."""
    with transaction(session_factory, write=True) as session:
        proposal = create_proposal(
            session,
            principal(session, "anna"),
            participant_id,
            change=EndParticipationChange(),
            reason="Ik wil het zelf doen.",
            effective_from=SEED_TODAY,
            emergency=False,
            today=SEED_TODAY,
            now=NOON,
            expiry_days=14,
        )
        proposal_id = proposal.id
    with transaction(session_factory, write=True) as session:
        found = session.get(Proposal, proposal_id)
        assert found is not None
        approve(
            session, principal(session, "carla"), found, reason=None, today=SEED_TODAY, now=NOON
        )
    with transaction(session_factory, write=True) as session:
        person = session.get(Participant, participant_id)
        assert person is not None and person.status == "ended"
        pay_everything(session, SEED_TODAY, "STMT-FOLLOWUP-1")
        assert participant_holdings(session, participant_id) == {}


def _municipal_iban(session: Session) -> str:
    iban = session.scalar(select(MunicipalBankAccount.iban).order_by(MunicipalBankAccount.id))
    assert iban is not None
    return iban


def _exit_payouts(session: Session, participant_id: int) -> list[PaymentInstruction]:
    return list(
        session.scalars(
            select(PaymentInstruction)
            .where(PaymentInstruction.idempotency_key.like(f"exit:{participant_id}:%"))
            .order_by(PaymentInstruction.id)
        )
    )


def _alerts(session: Session, participant_id: int, kind: str) -> list[Alert]:
    return list(
        session.scalars(
            select(Alert).where(Alert.participant_id == participant_id, Alert.kind == kind)
        )
    )


def late_credit_in_suspense(session: Session, day: dt.date, cents: int) -> int:
    """A late credit the import could not match: it waits in suspense."""
    return credit_in_suspense(
        session,
        statement_id="STMT-FOLLOWUP-1",
        sequence=99,
        day=day,
        cents=cents,
        key=f"test:late-credit:{day.isoformat()}",
        remittance="Teruggave eigen risico",
    )


def test_a_payout_returned_by_the_own_iban_is_not_paid_again_but_flagged(
    demo: Demo, session_factory: sessionmaker[Session]
) -> None:
    anna = demo.participants["anna"]
    ended_and_paid(session_factory, anna)
    later = SEED_TODAY + dt.timedelta(days=5)
    with transaction(session_factory, write=True) as session:
        (payout, *_) = [p for p in _exit_payouts(session, anna) if p.status == "settled"]
        own_iban, amount = payout.creditor_iban, payout.amount_cents
        # The bank returns the final payout: the own account is closed.
        return_payment(
            session,
            end_to_end_id=payout.end_to_end_id,
            amount_cents=amount,
            reason_code="AC04",
            bank_iban=_municipal_iban(session),
            booking_date=later,
            bank_reference="RETURN-EXIT-1",
        )
        held = participant_holdings(session, anna)
        assert sum(held.values()) == amount
        before = counts(session, anna)[1]  # her payment instructions

    for day in (later, later + dt.timedelta(days=1)):
        run_daily_cycle(session_factory, today=day)
    with transaction(session_factory, write=True) as session:
        # Nothing paid to the account that sent it back; the money waits, and is shown.
        assert counts(session, anna)[1] == before
        assert participant_holdings(session, anna) == held
        (blocked,) = _alerts(session, anna, "exit.followup_blocked")
        assert blocked.severity == "warning" and "AC04" in blocked.message_nl
        assert own_iban != NEW_IBAN
        # The caseworker records the account the participant uses now: not the one that
        # sent it back, not a municipal account, and only their own caseworker.
        carla = principal(session, "carla")
        with pytest.raises(InvalidInput, match="came back"):
            record_new_own_iban(session, carla, anna, own_iban)
        with pytest.raises(InvalidInput, match="municipality"):
            record_new_own_iban(session, carla, anna, _municipal_iban(session))
        with pytest.raises(NotFound):
            record_new_own_iban(session, principal(session, "chris"), anna, NEW_IBAN)
        assert record_new_own_iban(session, carla, anna, NEW_IBAN) == NEW_IBAN
        person = session.get(Participant, anna)
        assert person is not None and person.own_iban == NEW_IBAN
        assert blocked_alerts(session, anna) == []  # the warning is dealt with
        with pytest.raises(Conflict):  # nothing waits for a new number any more
            record_new_own_iban(session, carla, anna, "NL91ABNA0417164300")

    run_daily_cycle(session_factory, today=later + dt.timedelta(days=2))
    run_daily_cycle(session_factory, today=later + dt.timedelta(days=2))  # a re-run
    with transaction(session_factory, write=True) as session:
        followups = [p for p in _exit_payouts(session, anna) if ":followup:" in p.idempotency_key]
        # Exactly what came back is paid, once, to the new account.
        assert sum(p.amount_cents for p in followups) == amount
        assert {p.creditor_iban for p in followups} == {NEW_IBAN}
        assert {p.kind for p in followups} == {"living_money"}
        assert set(participant_holdings(session, anna)) == {AccountKind.PAYABLE}
        (paid,) = _alerts(session, anna, "exit.followup_paid")
        assert paid.severity == "info"
        pay_everything(session, later + dt.timedelta(days=2), "STMT-FOLLOWUP-2")
    with transaction(session_factory) as session:
        assert participant_holdings(session, anna) == {}
        assert check_ledger(session) == []
        report = reconcile(session)
        assert report.ok, report.as_dict()


def test_suspense_assigned_after_the_end_is_paid_to_the_own_iban_once(
    demo: Demo, session_factory: sessionmaker[Session]
) -> None:
    anna = demo.participants["anna"]
    ended_and_paid(session_factory, anna)
    day = SEED_TODAY + dt.timedelta(days=3)
    with transaction(session_factory, write=True) as session:
        own_iban = session.get(Participant, anna).own_iban  # type: ignore[union-attr]
        entry_id = late_credit_in_suspense(session, day, 4_321)
        assign_suspense_entry(
            session,
            bank_entry_id=entry_id,
            participant_id=anna,
            assigned_by="fenna",
            reason="Teruggave eigen risico voor Anna",
        )
        assert participant_holdings(session, anna) == {AccountKind.AVAILABLE: 4_321}

    with transaction(session_factory, write=True) as session:
        first = pay_after_end(session, today=day)
        assert [(f.amount_cents, f.end_to_end_id is not None) for f in first] == [(4_321, True)]
    with transaction(session_factory, write=True) as session:
        snapshot = counts(session, anna)[1]
        assert pay_after_end(session, today=day) == []  # a re-run pays nothing twice
    run_daily_cycle(session_factory, today=day)
    run_daily_cycle(session_factory, today=day + dt.timedelta(days=1))
    with transaction(session_factory, write=True) as session:
        assert counts(session, anna)[1] == snapshot
        (followup,) = [p for p in _exit_payouts(session, anna) if ":followup:" in p.idempotency_key]
        assert (followup.amount_cents, followup.creditor_iban) == (4_321, own_iban)
        assert followup.idempotency_key == f"exit:{anna}:followup:available:1"
        assert len(_alerts(session, anna, "exit.followup_paid")) == 1
        pay_everything(session, day + dt.timedelta(days=1), "STMT-FOLLOWUP-3")
    with transaction(session_factory) as session:
        assert participant_holdings(session, anna) == {}
        assert check_ledger(session) == []
        assert reconcile(session).ok


def test_life_events_and_the_emergency_button_are_refused_after_the_end(
    demo: Demo, session_factory: sessionmaker[Session]
) -> None:
    anna = demo.participants["anna"]
    ended_and_paid(session_factory, anna)
    with transaction(session_factory, write=True) as session:
        events = len(list(session.scalars(select(LifeEvent.id))))
        emergencies = len(list(session.scalars(select(EmergencyRequest.id))))
        for who in ("anna", "carla"):
            with pytest.raises(Conflict) as refused:
                signals.add_life_event(
                    session,
                    principal(session, who),
                    anna,
                    kind=next(iter(LifeEventKind)),
                    note="Nieuwe baan",
                    occurs_on=None,
                    now=NOON,
                )
            assert refused.value.extra["code"] == "participation_ended"
        with pytest.raises(Conflict) as refused:
            signals.press_emergency(
                session,
                principal(session, "anna"),
                anna,
                kind=EmergencyKind.OTHER,
                note="",
                now=NOON,
            )
        assert refused.value.extra["code"] == "participation_ended"
        assert len(list(session.scalars(select(LifeEvent.id)))) == events
        assert len(list(session.scalars(select(EmergencyRequest.id)))) == emergencies


def test_a_cancelled_followup_is_not_paid_again_by_itself(
    demo: Demo, session_factory: sessionmaker[Session]
) -> None:
    from backend.payments import cancel_instruction

    anna = demo.participants["anna"]
    ended_and_paid(session_factory, anna)
    day = SEED_TODAY + dt.timedelta(days=3)
    with transaction(session_factory, write=True) as session:
        entry_id = late_credit_in_suspense(session, day, 2_000)
        assign_suspense_entry(
            session,
            bank_entry_id=entry_id,
            participant_id=anna,
            assigned_by="fenna",
            reason="Teruggave voor Anna",
        )
        (paid,) = pay_after_end(session, today=day)
        assert paid.amount_cents == 2_000 and paid.end_to_end_id
    with transaction(session_factory, write=True) as session:
        (followup,) = [p for p in _exit_payouts(session, anna) if ":followup:" in p.idempotency_key]
        # Finance stops it before export: the money is back in available.
        cancel_instruction(
            session, instruction_id=followup.id, actor="fenna", reason="Eerst navragen", today=day
        )
        assert participant_holdings(session, anna) == {AccountKind.AVAILABLE: 2_000}
        before = counts(session, anna)[1]
    run_daily_cycle(session_factory, today=day + dt.timedelta(days=1))
    with transaction(session_factory) as session:
        assert counts(session, anna)[1] == before  # not paid again by itself
        assert participant_holdings(session, anna) == {AccountKind.AVAILABLE: 2_000}
        (blocked,) = _alerts(session, anna, "exit.followup_blocked")
        assert "geannuleerd" in blocked.message_nl
