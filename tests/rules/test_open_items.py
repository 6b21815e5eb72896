"""Open items are rebuilt from journal-entry metadata, the way the backend does it."""

from __future__ import annotations

import datetime as dt

import pytest

from ledger import AccountKind, JournalEntry, Posting, reverse
from rules import (
    REASON_PAYMENT_RETURNED,
    OpenItems,
    OpenItemsBuilder,
    PayFixedCost,
    RulesError,
    open_items_from_entries,
    returned_payment_metadata,
)
from tests.rules.support import (
    ANNA_STARTS,
    MUNICIPAL_BANK,
    account,
    anna_from_the_start,
    run,
)

D = dt.date


def test_open_items_from_all_entries_match_the_incremental_builder() -> None:
    ledger = run(anna_from_the_start(), ANNA_STARTS, D(2026, 9, 1))
    rebuilt = open_items_from_entries(
        ledger.entries,
        alerts_raised=ledger.builder.build().alerts_raised,
        today=D(2026, 9, 1),
    )
    assert rebuilt == ledger.builder.build(D(2026, 9, 1))
    assert sum(r.amount_cents for r in rebuilt.reservations) == ledger.balances().reserved_cents
    assert OpenItems.model_validate_json(rebuilt.model_dump_json()) == rebuilt


def test_history_the_engine_no_longer_needs_is_left_out() -> None:
    ledger = run(anna_from_the_start(), ANNA_STARTS, D(2026, 12, 1))
    full = ledger.builder.build()
    trimmed = ledger.builder.build(D(2026, 12, 1))
    assert len(trimmed.payments) < len(full.payments)
    assert min(p.due_date for p in trimmed.payments) >= D(2026, 12, 1) - dt.timedelta(days=123)
    assert {m.month for m in trimmed.buffer_build_ups} == {D(2026, 11, 1), D(2026, 12, 1)}


def _rent_payment(ledger_until: dt.date) -> tuple[list[JournalEntry], JournalEntry]:
    ledger = run(anna_from_the_start(), ANNA_STARTS, ledger_until)
    pay = next(
        a
        for a in ledger.all_actions()
        if isinstance(a, PayFixedCost) and a.agreement_id == "rent" and a.due_date == D(2026, 5, 1)
    )
    entry = pay.to_journal_entry(pay.on_date)
    assert entry is not None
    return ledger.entries, entry


def test_a_reversed_payment_is_open_again_and_its_money_reserved() -> None:
    entries, payment = _rent_payment(D(2026, 4, 30))
    correction = reverse(payment, booking_date=D(2026, 5, 2), explanation="Correctie.")
    before = open_items_from_entries(entries)
    after = open_items_from_entries([*entries, correction])
    assert ("rent", D(2026, 5, 1)) in before.paid_due_dates()
    assert ("rent", D(2026, 5, 1)) not in after.paid_due_dates()
    assert after.reserved_by_due_date()[("rent", D(2026, 5, 1))] == 64500


def test_a_returned_payment_stays_paid_and_its_money_is_reserved_again() -> None:
    entries, _ = _rent_payment(D(2026, 4, 30))
    returned = JournalEntry(
        idempotency_key="return:AC04:rent:2026-05-01",
        booking_date=D(2026, 5, 4),
        reason_code=REASON_PAYMENT_RETURNED,
        explanation="Betaling aan Mitros kwam terug: rekening bestaat niet meer.",
        postings=(
            Posting(MUNICIPAL_BANK, 64500),
            Posting(account(AccountKind.RESERVED), -64500),
        ),
        metadata=returned_payment_metadata("rent", D(2026, 5, 1)),
    )
    items = open_items_from_entries([*entries, returned])
    assert ("rent", D(2026, 5, 1)) in items.paid_due_dates()
    assert items.reserved_by_due_date()[("rent", D(2026, 5, 1))] == 64500


def test_an_engine_entry_without_its_metadata_is_refused() -> None:
    broken = JournalEntry(
        idempotency_key="broken",
        booking_date=D(2026, 5, 1),
        reason_code="fixed_cost.reserve",
        explanation="Kapot.",
        postings=(
            Posting(account(AccountKind.AVAILABLE), 100),
            Posting(account(AccountKind.RESERVED), -100),
        ),
    )
    with pytest.raises(RulesError, match="lacks metadata 'agreement_id'"):
        OpenItemsBuilder().add_entry(broken)


def test_income_booked_without_an_agreement_is_ignored() -> None:
    unmatched = JournalEntry(
        idempotency_key="import:1",
        booking_date=D(2026, 5, 1),
        reason_code="income.matched",
        explanation="Geld ontvangen.",
        postings=(Posting(MUNICIPAL_BANK, 100), Posting(account(AccountKind.AVAILABLE), -100)),
    )
    assert open_items_from_entries([unmatched]).incomes == ()
