"""Creating payment instructions (what the daily cycle calls) and cancelling one."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from backend.errors import Conflict, IdempotencyConflict, InvalidInput
from backend.ledger_store import check_ledger, post_entries
from backend.payments import cancel_instruction, create_payment_instruction, propose_batches
from ledger import AccountKind, AccountRef, JournalEntry, Posting
from tests.payments.conftest import (
    DUE_DAY,
    EXECUTION_DAY,
    MUNICIPAL_IBAN,
    World,
    holding,
    make_payment,
)


def test_instruction_is_idempotent_on_the_entry_key(session: Session, world: World) -> None:
    first = make_payment(session, world.anna, 64_500, "cycle:anna:rent:2026-12-01")
    again = make_payment(session, world.anna, 64_500, "cycle:anna:rent:2026-12-01")
    session.commit()
    assert again.id == first.id
    assert first.status == "payable"
    assert first.idempotency_key == "cycle:anna:rent:2026-12-01"
    assert first.end_to_end_id.startswith("HHB-") and len(first.end_to_end_id) <= 35
    assert holding(session, world.anna, AccountKind.PAYABLE) == 64_500


def test_same_entry_with_other_payment_details_is_refused(session: Session, world: World) -> None:
    make_payment(session, world.anna, 64_500, "cycle:anna:rent")
    with pytest.raises(IdempotencyConflict, match="creditor_iban"):
        make_payment(
            session,
            world.anna,
            64_500,
            "cycle:anna:rent",
            creditor=("Mitros", "NL91ABNA0417164300"),
        )


def _payable_entry(participant_id: int, cents: int, key: str) -> JournalEntry:
    return JournalEntry(
        idempotency_key=key,
        booking_date=EXECUTION_DAY,
        reason_code="living_money.pay",
        explanation="Leefgeld",
        postings=(
            Posting(AccountRef.of_participant(participant_id, AccountKind.AVAILABLE), cents),
            Posting(AccountRef.of_participant(participant_id, AccountKind.PAYABLE), -cents),
        ),
    )


def _create(session: Session, world: World, entry: JournalEntry, **changes: object) -> None:
    arguments: dict[str, object] = {
        "entry": entry,
        "participant_id": world.zoe,
        "kind": "living_money",
        "creditor_name": "Zoë Ĳzerman",
        "creditor_iban": "NL79INGB0002468024",
        "amount_cents": 9_741,
        "due_date": DUE_DAY,
        "execution_date": EXECUTION_DAY,
        "remittance": "Leefgeld",
        "creditor_reference": None,
        "source_kind": "available",
        "debtor_iban": MUNICIPAL_IBAN,
    }
    arguments.update(changes)
    create_payment_instruction(session, **arguments)  # type: ignore[arg-type]


def test_entry_must_be_posted_first(session: Session, world: World) -> None:
    with pytest.raises(InvalidInput, match="post it before"):
        _create(session, world, _payable_entry(world.zoe, 9_741, "cycle:zoe:living"))


def test_entry_must_move_exactly_the_amount_to_payable(session: Session, world: World) -> None:
    entry = _payable_entry(world.zoe, 9_741, "cycle:zoe:living")
    post_entries(session, [entry], created_by="test")
    with pytest.raises(InvalidInput, match="exactly"):
        _create(session, world, entry, amount_cents=9_740)
    with pytest.raises(InvalidInput, match="exactly"):
        _create(session, world, entry, source_kind="reserved")
    with pytest.raises(InvalidInput, match="exactly"):
        _create(session, world, entry, participant_id=world.anna)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"creditor_iban": "NL00RABO0000000000"}, "creditor_iban"),
        ({"debtor_iban": "NL91ABNA0417164300"}, "not one of the municipality"),
        ({"creditor_reference": "6000056789012345"}, "check digit"),
        ({"remittance": None}, "remittance text or a creditor reference"),
        ({"end_to_end_id": "NOTPROVIDED"}, "NOTPROVIDED"),
        ({"kind": "gift"}, "kind"),
        ({"creditor_bic": "INGB"}, "BIC"),
    ],
)
def test_bad_payment_details_are_refused(
    session: Session, world: World, changes: dict[str, object], message: str
) -> None:
    entry = _payable_entry(world.zoe, 9_741, "cycle:zoe:living")
    post_entries(session, [entry], created_by="test")
    with pytest.raises(InvalidInput, match=message):
        _create(session, world, entry, **changes)


def test_end_to_end_id_is_unique(session: Session, world: World) -> None:
    make_payment(session, world.anna, 100, "cycle:a", end_to_end_id="E2E-1")
    with pytest.raises(Conflict, match="E2E-1"):
        make_payment(session, world.zoe, 100, "cycle:b", end_to_end_id="E2E-1")


def test_cancel_one_payment_puts_the_money_back(session: Session, world: World) -> None:
    instruction = make_payment(session, world.anna, 64_500, "cycle:anna:rent")
    propose_batches(session, today=EXECUTION_DAY)
    session.commit()
    assert holding(session, world.anna, AccountKind.RESERVED) == 0
    cancelled = cancel_instruction(
        session,
        instruction_id=instruction.id,
        actor="fenna",
        reason="verhuisd",
        today=EXECUTION_DAY,
    )
    session.commit()
    assert cancelled.status == "cancelled"
    assert cancelled.batch_id is None
    assert holding(session, world.anna, AccountKind.RESERVED) == 64_500
    assert holding(session, world.anna, AccountKind.PAYABLE) == 0
    assert check_ledger(session) == []
    again = cancel_instruction(
        session, instruction_id=instruction.id, actor="fenna", reason="verhuisd"
    )
    assert again.status == "cancelled"
    assert holding(session, world.anna, AccountKind.RESERVED) == 64_500
