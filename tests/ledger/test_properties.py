"""Random sequences of entries and reversals never break the ledger's invariants."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from ledger import (
    AccountKind,
    AccountRef,
    JournalEntry,
    Posting,
    check_balances,
    fold_balances,
    holding_cents,
    reverse,
)

BANK = AccountRef.bank("NL84BNGH0285050123")
PARTICIPANTS = (1, 2, 3)
DAY = dt.date(2026, 11, 1)

# Each step moves money between two accounts in a direction that keeps holdings valid
# when the source holds enough (the strategy below only draws what is there).
MOVES = (
    ("income", None, AccountKind.AVAILABLE),
    ("reserve", AccountKind.AVAILABLE, AccountKind.RESERVED),
    ("pay", AccountKind.RESERVED, AccountKind.PAYABLE),
    ("top_up", AccountKind.AVAILABLE, AccountKind.BUFFER),
    ("draw", AccountKind.BUFFER, AccountKind.PAYABLE),
)


@st.composite
def ledgers(draw: st.DrawFn) -> list[JournalEntry]:
    entries: list[JournalEntry] = []
    for index in range(draw(st.integers(min_value=1, max_value=40))):
        balances = fold_balances(entries)
        participant = draw(st.sampled_from(PARTICIPANTS))
        name, source_kind, target_kind = draw(st.sampled_from(MOVES))
        target = AccountRef.of_participant(participant, target_kind)
        if source_kind is None:
            source = BANK
            limit = 500_000
        else:
            source = AccountRef.of_participant(participant, source_kind)
            limit = holding_cents(source, balances.get(source, 0))
        if draw(st.booleans()) and entries:
            candidate = draw(st.sampled_from(entries))
            already = {e.reverses_key for e in entries}
            if candidate.reverses_key is None and candidate.idempotency_key not in already:
                reversal = reverse(candidate, booking_date=DAY, explanation="Correctie")
                if not check_balances(fold_balances([*entries, reversal])):
                    entries.append(reversal)
                    continue
        if limit <= 0:
            continue
        amount = draw(st.integers(min_value=1, max_value=limit))
        # Money in debits the bank; a move between credit-normal accounts debits the source.
        postings = (Posting(source, amount), Posting(target, -amount))
        entries.append(JournalEntry(f"{name}:{index}", DAY, name, f"stap {index}", postings))
    return entries


@given(ledgers())
def test_random_entries_and_reversals_keep_every_invariant(entries: list[JournalEntry]) -> None:
    balances = fold_balances(entries)
    assert sum(balances.values()) == 0
    assert check_balances(balances) == []


@given(ledgers())
def test_reversing_everything_returns_to_zero(entries: list[JournalEntry]) -> None:
    reversed_keys = {e.reverses_key for e in entries if e.reverses_key}
    open_entries = [
        e for e in entries if e.reverses_key is None and e.idempotency_key not in reversed_keys
    ]
    corrections = [reverse(e, booking_date=DAY, explanation="Alles terug") for e in open_entries]
    assert all(value == 0 for value in fold_balances([*entries, *corrections]).values())
