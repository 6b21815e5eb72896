"""One-off extra payouts, returned payments recognised by their metadata, and a returned
handover paid to the creditor: through co-decision, the daily cycle, the payments and
the ledger of the seeded demo world. Runs on SQLite and on PostgreSQL
(HUISHOUDBOEKJE_TEST_POSTGRES_URL).
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.codecision import service as proposals
from backend.codecision import signals
from backend.codecision.changes import ExtraPayoutChange
from backend.cycle import loading
from backend.cycle.service import run_daily_cycle
from backend.db import transaction
from backend.demo.seed import MUNICIPAL_IBAN
from backend.errors import InvalidInput
from backend.ledger_store import account_balances, post_entries
from backend.ledger_store.service import check_ledger
from backend.models import (
    Alert,
    CycleState,
    EmergencyRequest,
    JournalEntryRecord,
    PaymentInstruction,
    PlanVersionRecord,
    Proposal,
)
from backend.models.base import utcnow
from backend.payments import (
    approve_batch,
    export_batch,
    prepare_batch,
    propose_batches,
    return_payment,
    settle_by_end_to_end_id,
)
from backend.plans.appliers import register_plan_appliers
from backend.plans.service import apply_plan_change, latest_plan
from backend.zelfregie import self_payment
from client_app.services.movements import movements
from ledger import AccountKind, AccountRef, JournalEntry, Posting, holding_cents
from rules import Plan
from tests.access.conftest import Demo
from tests.cycle.demo_days import AnnasDays

EXPIRY_DAYS = 14
REASON = "Noodknop: de koelkast is kapot en er is geen geld voor eten deze week."


class World(AnnasDays):
    """Anna's days after the seed: incomes on statements, then the daily cycle."""

    def __init__(self, session_factory: sessionmaker[Session], demo: Demo) -> None:
        super().__init__(session_factory, demo, horizon_days=60)

    def emergency_payout(self, session: Session, cents: int, reason: str = REASON) -> Proposal:
        return proposals.create_proposal(
            session,
            self.principal(session, self.carla_user),
            self.anna,
            change=ExtraPayoutChange(amount_cents=cents),
            reason=reason,
            effective_from=None,
            emergency=True,
            today=self.day,
            now=utcnow(),
            expiry_days=EXPIRY_DAYS,
        )

    def press_button(self, session: Session) -> EmergencyRequest:
        return signals.press_emergency(
            session,
            self.principal(session, self.anna_user),
            self.anna,
            kind=signals.EmergencyKind.NO_MONEY_FOR_FOOD,
            note="Geen geld voor eten.",
            now=utcnow(),
        )


def _held(session: Session, participant_id: int) -> dict[AccountKind, int]:
    raw = account_balances(session, participant_id=participant_id)
    return {
        ref.kind: holding_cents(ref, cents)
        for ref, cents in raw.items()
        if ref.participant_id == participant_id and isinstance(ref.kind, AccountKind)
    }


def _one_off_instructions(session: Session, anna: int) -> list[PaymentInstruction]:
    return list(
        session.scalars(
            select(PaymentInstruction).where(
                PaymentInstruction.participant_id == anna,
                PaymentInstruction.idempotency_key.like(f"rules:{anna}:living_money.one_off:%"),
            )
        )
    )


def _count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def world(demo: Demo, session_factory: sessionmaker[Session]) -> World:
    register_plan_appliers()
    return World(session_factory, demo)


# ---------------------------------------------------------------------- one-off payout


def test_an_emergency_payout_is_paid_once_and_anna_sees_why(world: World) -> None:
    anna = world.anna
    with transaction(world.factory) as session:
        button = world.press_button(session)
        proposal = world.emergency_payout(session, 15_000)
        assert proposal.status == "emergency_applied" and proposal.applied_at is not None
        # The caseworker's emergency item is handled with the payout.
        session.refresh(button)
        assert button.acknowledged_at is not None and button.acknowledged_by == world.carla_user
        stored = latest_plan(session, anna)
        assert stored is not None
        (payout,) = stored.plan.one_off_payouts
        assert (payout.payout_id, payout.amount_cents, payout.pay_on, payout.reason) == (
            f"proposal-{proposal.id}",
            15_000,
            world.day,
            REASON,
        )
        held_before = _held(session, anna)

    # Paid by the next cycle run; running it again that day, and the days after, pays
    # nothing more.
    world.cycle()
    world.cycle()
    # Also when the open-items cache is rebuilt from the ledger.
    rebuilt = run_daily_cycle(
        world.factory, today=world.day, participant_ids=[anna], rebuild_state=True
    )
    assert rebuilt.state_rebuilds == 1 and rebuilt.payment_instructions_created == 0
    with world.factory() as session:
        held_after = _held(session, anna)
        (instruction,) = _one_off_instructions(session, anna)
    # Money only moved between Anna's own pots: nothing created or lost.
    assert sum(held_after.values()) == sum(held_before.values())
    assert held_after[AccountKind.PAYABLE] - held_before[AccountKind.PAYABLE] >= 15_000
    assert instruction.amount_cents == 15_000
    assert instruction.creditor_iban == "NL32INGB0007777777"
    assert (instruction.kind, instruction.source_kind) == ("living_money", "available")
    world.until(world.day + dt.timedelta(days=5))
    with world.factory() as session:
        assert len(_one_off_instructions(session, anna)) == 1
        entries = session.scalar(
            select(func.count(JournalEntryRecord.id)).where(
                JournalEntryRecord.reason_code == "living_money.one_off"
            )
        )
        assert entries == 1
        # Transacties: the payment with the caseworker's reason.
        rows = movements(session, anna, limit=100).rows
        (row,) = [r for r in rows if r.reason_code == "living_money.one_off"]
        assert (
            row.explanation_nl
            == f"Extra leefgeld: € 150,00 naar je eigen rekening. Reden: {REASON}"
        )
        assert check_ledger(session) == []


def test_over_the_cap_is_refused_and_nothing_changes(world: World) -> None:
    with transaction(world.factory) as session:
        button = world.press_button(session)
    with world.factory() as session:
        proposals_before = _count(session, Proposal)
        versions_before = _count(session, PlanVersionRecord)
    with transaction(world.factory) as session, pytest.raises(InvalidInput, match="at most 25000"):
        world.emergency_payout(session, 25_001)
    with world.factory() as session:
        assert _count(session, Proposal) == proposals_before
        assert _count(session, PlanVersionRecord) == versions_before
        assert session.get_one(EmergencyRequest, button.id).acknowledged_at is None
    world.cycle()
    with world.factory() as session:
        assert _one_off_instructions(session, world.anna) == []


def test_the_configured_cap_is_lower(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from backend.config import get_settings

    monkeypatch.setenv("HUISHOUDBOEKJE_EMERGENCY_PAYOUT_CAP_CENTS", "10000")
    get_settings.cache_clear()
    try:
        with transaction(world.factory) as session, pytest.raises(InvalidInput, match="10000"):
            world.emergency_payout(session, 10_001)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


def _drain(session: Session, anna: int, leave_buffer_cents: int) -> None:
    """Anna's available money and buffer leave the bank (a test correction), but for
    `leave_buffer_cents`; reserved money stays for her fixed costs."""
    held = _held(session, anna)
    postings = []
    out = held[AccountKind.AVAILABLE] + held[AccountKind.BUFFER] - leave_buffer_cents
    if held[AccountKind.AVAILABLE]:
        postings.append(
            Posting(
                AccountRef.of_participant(anna, AccountKind.AVAILABLE), held[AccountKind.AVAILABLE]
            )
        )
    postings.append(
        Posting(
            AccountRef.of_participant(anna, AccountKind.BUFFER),
            held[AccountKind.BUFFER] - leave_buffer_cents,
        )
    )
    postings.append(Posting(AccountRef.bank(MUNICIPAL_IBAN), -out))
    post_entries(
        session,
        [
            JournalEntry(
                idempotency_key=f"test:drain:{anna}",
                booking_date=dt.date(2026, 11, 28),
                reason_code="test.drain",
                explanation="Test: geld weg.",
                postings=tuple(postings),
            )
        ],
        created_by="test",
    )


def test_a_payout_the_fixed_costs_need_is_refused_naming_the_shortfall(world: World) -> None:
    anna = world.anna
    with transaction(world.factory) as session:
        _drain(session, anna, leave_buffer_cents=4_000)
        # Anna asks from the emergency button; the proposal waits for carla.
        asked = proposals.create_proposal(
            session,
            world.principal(session, world.anna_user),
            anna,
            change=ExtraPayoutChange(amount_cents=10_000),
            reason="Noodknop 1: geen geld voor eten.",
            effective_from=None,
            emergency=False,
            today=world.day,
            now=utcnow(),
            expiry_days=EXPIRY_DAYS,
        )
        asked_id = asked.id
    with world.factory() as session:
        versions_before = _count(session, PlanVersionRecord)
        held_before = _held(session, anna)
    for emergency in (True, False):
        with transaction(world.factory) as session:
            with pytest.raises(InvalidInput) as refused:
                if emergency:
                    world.emergency_payout(session, 10_000)
                else:
                    proposals.approve(
                        session,
                        world.principal(session, world.carla_user),
                        session.get_one(Proposal, asked_id),
                        reason=None,
                        today=world.day,
                        now=utcnow(),
                    )
            # € 100,00 asked, € 40,00 in the buffer, nothing available.
            assert "€ 60,00 short" in str(refused.value.detail)
            assert "at most € 40,00" in str(refused.value.detail)
    with world.factory() as session:
        assert session.get_one(Proposal, asked_id).status == "proposed"
        assert _count(session, PlanVersionRecord) == versions_before
        assert _held(session, anna) == held_before
    # A payout the money allows goes through.
    with transaction(world.factory) as session:
        assert world.emergency_payout(session, 4_000).applied_at is not None


# ---------------------------------------------------------------------- returns


def _export_and_settle(session: Session, day: dt.date, wanted: PaymentInstruction) -> None:
    for batch in propose_batches(session, today=day):
        prepare_batch(session, batch.id, actor="fenna", today=day)
        approve_batch(session, batch.id, actor="frank")
        export_batch(session, batch.id, actor="frank", today=day)
    session.refresh(wanted)
    settle_by_end_to_end_id(
        session,
        end_to_end_id=wanted.end_to_end_id,
        amount_cents=wanted.amount_cents,
        bank_iban=MUNICIPAL_IBAN,
        booking_date=day,
        bank_reference=f"SETTLE-{wanted.id}",
    )


def _instruction(
    session: Session, anna: int, agreement: str, due: dt.date, rule: str
) -> PaymentInstruction:
    found = session.scalar(
        select(PaymentInstruction).where(
            PaymentInstruction.participant_id == anna,
            PaymentInstruction.idempotency_key == f"rules:{anna}:{rule}:{agreement}:{due}",
        )
    )
    assert found is not None, (agreement, due, rule)
    return found


def _legacy_return(session: Session, rent: PaymentInstruction, day: dt.date) -> None:
    """A return booked before return entries carried metadata: only the key says which
    payment it was (such entries stay in existing databases)."""
    post_entries(
        session,
        [
            JournalEntry(
                idempotency_key=f"payments:return:{rent.end_to_end_id}",
                booking_date=day,
                reason_code="payment.returned",
                explanation="De betaling kwam terug.",
                postings=(
                    Posting(AccountRef.bank(MUNICIPAL_IBAN), rent.amount_cents),
                    Posting(
                        AccountRef.of_participant(rent.participant_id, AccountKind.RESERVED),
                        -rent.amount_cents,
                    ),
                ),
            )
        ],
        created_by="test",
    )


@pytest.mark.parametrize("booked", ["with_metadata", "old_format"])
def test_a_returned_payment_is_recognised_and_not_paid_again(world: World, booked: str) -> None:
    anna = world.anna
    world.until(dt.date(2026, 11, 30))  # the December rent is executed on Monday 30 November
    due = dt.date(2026, 12, 1)
    with transaction(world.factory) as session:
        rent = _instruction(session, anna, "huur", due, "fixed_cost.pay")
        _export_and_settle(session, world.day, rent)
        if booked == "old_format":
            _legacy_return(session, rent, world.day)
        else:
            result = return_payment(
                session,
                end_to_end_id=rent.end_to_end_id,
                amount_cents=rent.amount_cents,
                reason_code="AC04",
                bank_iban=MUNICIPAL_IBAN,
                booking_date=world.day,
                bank_reference="RETURN-1",
            )
            entry = session.scalar(
                select(JournalEntryRecord).where(
                    JournalEntryRecord.idempotency_key == result.journal_entry_keys[0]
                )
            )
            assert entry is not None
            assert entry.entry_metadata == {
                "instruction_id": str(rent.id),
                "end_to_end_id": rent.end_to_end_id,
                "payment_rule": "fixed_cost.pay",
                "source_kind": "reserved",
                "agreement_id": "huur",
                "due_date": "2026-12-01",
                "return_reason": "AC04",
            }
    # The cycle folds the return into the reservation (else it would refuse Anna's
    # balances) and never retries the payment automatically.
    world.until(dt.date(2026, 12, 5))
    with world.factory() as session:
        paid = session.scalar(
            select(func.count(PaymentInstruction.id)).where(
                PaymentInstruction.participant_id == anna,
                PaymentInstruction.idempotency_key.like(f"rules:{anna}:fixed_cost.pay:huur:%"),
                PaymentInstruction.due_date == due,
            )
        )
        assert paid == 1
        state = session.get_one(CycleState, anna)
        reserved = {
            (item["agreement_id"], item["due_date"]): item["amount_cents"]
            for item in state.open_items["reservations"]
        }
        assert reserved[("huur", "2026-12-01")] == rent.amount_cents
        assert check_ledger(session) == []


def test_the_cycle_reads_the_metadata_not_the_key() -> None:
    """A return entry whose key is not in the old format is still recognised, without
    looking up the instruction (the session is never used)."""
    metadata = {
        "instruction_id": "7",
        "end_to_end_id": "HB0123",
        "payment_rule": "fixed_cost.pay",
        "source_kind": "reserved",
        "agreement_id": "huur",
        "due_date": "2026-12-01",
        "return_reason": "AC04",
    }
    headers = {
        1: loading._Header(
            "bank:return:some-other-format",
            dt.date(2026, 12, 2),
            "payment.returned",
            "",
            "",
            None,
            metadata,
        ),
        2: loading._Header(
            "x",
            dt.date(2026, 12, 2),
            "payment.returned",
            "",
            "",
            None,
            {**metadata, "payment_rule": "fixed_cost.handover"},
        ),
        3: loading._Header(
            "y",
            dt.date(2026, 12, 2),
            "payment.returned",
            "",
            "",
            None,
            {**metadata, "payment_rule": "living_money.pay", "source_kind": "available"},
        ),
    }
    found = loading._payment_outcomes(None, headers)  # type: ignore[arg-type]
    assert found == {
        1: ("fixed_cost.returned", "huur", "2026-12-01"),
        2: ("fixed_cost.handover_returned", "huur", "2026-12-01"),
        3: None,
    }


# ---------------------------------------------------------------------- returned handover


def test_a_returned_handover_is_paid_to_the_creditor_and_the_caseworker_told(world: World) -> None:
    anna = world.anna
    with transaction(world.factory) as session:
        stored = latest_plan(session, anna)
        assert stored is not None
        body = stored.plan.model_dump()
        for cost in body["fixed_costs"]:
            if cost["agreement_id"] == "telefoon":
                cost["paid_by_participant"] = True  # zelfregie step 3, agreed earlier
        apply_plan_change(
            session,
            anna,
            Plan.model_validate(body),
            effective_from=world.day,
            created_by="test",
            source="test:self-paid-phone",
        )
    world.until(dt.date(2026, 12, 14))  # the phone bill of 15 December is handed over
    due = dt.date(2026, 12, 15)
    with transaction(world.factory) as session:
        handover = _instruction(session, anna, "telefoon", due, "fixed_cost.handover")
        assert handover.creditor_iban == "NL32INGB0007777777"
        _export_and_settle(session, world.day, handover)
        return_payment(
            session,
            end_to_end_id=handover.end_to_end_id,
            amount_cents=handover.amount_cents,
            reason_code="AC04",
            bank_iban=MUNICIPAL_IBAN,
            booking_date=world.day,
            bank_reference="RETURN-HANDOVER",
        )
        held_before = _held(session, anna)
    world.next_day()
    with world.factory() as session:
        direct = _instruction(session, anna, "telefoon", due, "fixed_cost.pay")
        assert direct.kind == "fixed_cost" and direct.amount_cents == 3_500
        assert direct.creditor_iban != handover.creditor_iban  # KPN, not Anna
        alerts = list(
            session.scalars(
                select(Alert.kind).where(
                    Alert.participant_id == anna,
                    Alert.dedup_key.like(f"rules:{anna}:alert.%:telefoon:{due}"),
                )
            )
        )
        assert alerts == ["handover_returned"]
        held_after = _held(session, anna)
        assert sum(held_after.values()) == sum(held_before.values())
    # Past the confirmation date (22 December): not a missed self-payment.
    world.until(dt.date(2026, 12, 24))
    with world.factory() as session:
        kinds = set(
            session.scalars(
                select(Alert.kind).where(
                    Alert.participant_id == anna, Alert.dedup_key.like(f"%:telefoon:{due}")
                )
            )
        )
        assert "self_payment_missed" not in kinds
        # Nor does "Zelf doen" list it as a bill she missed.
        bills = self_payment.self_paid_bills(session, anna, world.day)
        assert [(b.due_date, b.missed) for b in bills if b.agreement_id == "telefoon"] == []
        pays = session.scalar(
            select(func.count(PaymentInstruction.id)).where(
                PaymentInstruction.participant_id == anna,
                PaymentInstruction.due_date == due,
                PaymentInstruction.idempotency_key.like(f"rules:{anna}:fixed_cost.%:telefoon:%"),
            )
        )
        assert pays == 2  # the handover that came back, and the payment to KPN
        assert check_ledger(session) == []
