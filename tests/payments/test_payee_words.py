"""The append-only ledger never names the participant as payee of their living money."""

from __future__ import annotations

from backend.models import PaymentInstruction
from backend.payments.instructions import payee_words


def test_living_money_is_described_without_the_participants_name() -> None:
    instruction = PaymentInstruction(kind="living_money", creditor_name="Anna de Vries")
    assert payee_words(instruction) == ("je eigen rekening", "your own account")
    assert "Anna" not in " ".join(payee_words(instruction))


def test_fixed_costs_name_the_creditor() -> None:
    instruction = PaymentInstruction(kind="fixed_cost", creditor_name="Mitros")
    assert payee_words(instruction) == ("Mitros", "Mitros")
