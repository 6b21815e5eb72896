from __future__ import annotations

import datetime as dt

import pytest

from ledger import (
    AccountKind,
    AccountRef,
    JournalEntry,
    LedgerError,
    Posting,
    check_balances,
    entry_fingerprint,
    fold_balances,
    holding_cents,
    reverse,
)

BANK = AccountRef.bank("NL84BNGH0285050123")
ANNA_AVAILABLE = AccountRef.of_participant(1, AccountKind.AVAILABLE)
DAY = dt.date(2026, 11, 25)


def income(key: str = "import:1", cents: int = 131248) -> JournalEntry:
    return JournalEntry(
        idempotency_key=key,
        booking_date=DAY,
        reason_code="income.matched",
        explanation="Uitkering november van Werk en Inkomen",
        postings=(Posting(BANK, cents), Posting(ANNA_AVAILABLE, -cents)),
    )


def test_unbalanced_entry_is_refused_with_the_difference() -> None:
    with pytest.raises(LedgerError, match="sum to 1 cents instead of zero"):
        JournalEntry(
            idempotency_key="x",
            booking_date=DAY,
            reason_code="test",
            explanation="test",
            postings=(Posting(BANK, 101), Posting(ANNA_AVAILABLE, -100)),
        )


def test_entry_without_explanation_is_refused() -> None:
    with pytest.raises(LedgerError, match="explanation is missing"):
        JournalEntry(
            idempotency_key="x",
            booking_date=DAY,
            reason_code="test",
            explanation="  ",
            postings=(Posting(BANK, 100), Posting(ANNA_AVAILABLE, -100)),
        )


def test_zero_and_single_postings_are_refused() -> None:
    with pytest.raises(LedgerError, match="at least two postings"):
        JournalEntry("x", DAY, "test", "uitleg", (Posting(BANK, 0),))
    with pytest.raises(LedgerError, match="amount zero"):
        JournalEntry("x", DAY, "test", "uitleg", (Posting(BANK, 0), Posting(ANNA_AVAILABLE, 0)))


def test_account_needs_the_right_owner() -> None:
    with pytest.raises(LedgerError, match="needs a participant"):
        AccountRef(AccountKind.AVAILABLE)
    with pytest.raises(LedgerError, match="needs an IBAN"):
        AccountRef(AccountKind.BANK)
    with pytest.raises(LedgerError, match="system account"):
        AccountRef(AccountKind.SUSPENSE, participant_id=1)


def test_reverse_negates_and_points_back() -> None:
    original = income()
    correction = reverse(original, booking_date=DAY, explanation="Dubbel geboekt, teruggedraaid")
    assert correction.reverses_key == original.idempotency_key
    assert fold_balances([original, correction]) == {BANK: 0, ANNA_AVAILABLE: 0}
    with pytest.raises(LedgerError, match="itself a reversal"):
        reverse(correction, booking_date=DAY, explanation="nee")


def test_fingerprint_changes_with_any_content() -> None:
    assert entry_fingerprint(income()) == entry_fingerprint(income())
    assert entry_fingerprint(income()) != entry_fingerprint(income(cents=131249))
    assert entry_fingerprint(income()) != entry_fingerprint(income(key="import:2"))


def test_participant_holding_is_credit_normal() -> None:
    balances = fold_balances([income()])
    assert holding_cents(ANNA_AVAILABLE, balances[ANNA_AVAILABLE]) == 131248
    assert holding_cents(BANK, balances[BANK]) == 131248
    assert check_balances(balances) == []


def test_negative_holding_is_a_violation() -> None:
    overdrawn = JournalEntry(
        "pay", DAY, "test", "betaald", (Posting(ANNA_AVAILABLE, 100), Posting(BANK, -100))
    )
    violations = check_balances(fold_balances([overdrawn]))
    assert [(v.code, v.account) for v in violations] == [
        ("account.negative", "participant:1:available")
    ]
